-- 0009_key_health: keys that heal, and keys that expire.
--
-- keys.failed_because: the outcome that put a `failed` key there
-- ('rate_limited', 'no_credit', 'provider_error': transient, probed again by
-- the agent's scheduler; 'invalid', 'forbidden' or 'unexpected': never
-- re-enabled on its own, only by `keywarden key check ID`). NULL for keys
-- that are not failed, and for keys failed before this migration.
-- keys.probe_attempts, keys.next_probe_at: the recovery probes' backoff (how
-- many probes found the key still failing; when the next is due, NULL: no
-- probe is planned). They survive agent restarts.
-- keys.expires_at: when the key stops working (`key add --expires`, or what a
-- provider reports); NULL: no known expiry.
-- All four decide what happens to a key: covered by the keys row MAC. They
-- are NULL in every earlier row, so existing MACs stay valid.
ALTER TABLE keys ADD COLUMN failed_because TEXT
    CHECK (failed_because IS NULL OR failed_because IN ('invalid', 'forbidden', 'no_credit', 'rate_limited', 'provider_error', 'unexpected'));
ALTER TABLE keys ADD COLUMN probe_attempts INTEGER CHECK (probe_attempts IS NULL OR probe_attempts >= 0);
ALTER TABLE keys ADD COLUMN next_probe_at TEXT;
ALTER TABLE keys ADD COLUMN expires_at TEXT;

-- Network incidents: a check or a request that never reached a verdict about
-- the key (DNS, connect, TLS, proxy, timeout). They never change a key's
-- state; `status` shows the recent ones. Observations, like
-- keys.last_outcome: not authenticated by a row MAC. No foreign key: an
-- incident outlives a removed key. Rows older than 7 days are pruned when new
-- ones are written.
CREATE TABLE network_incidents (
    id       TEXT PRIMARY KEY CHECK (length(id) BETWEEN 3 AND 32),
    at       TEXT NOT NULL,   -- UTC, as every stored time
    provider TEXT NOT NULL,
    scope    TEXT,
    key_id   TEXT,
    outcome  TEXT NOT NULL CHECK (outcome IN ('dns_error', 'connect_error', 'tls_error', 'proxy_error', 'timeout')),
    source   TEXT NOT NULL,   -- validate, doctor, recovery, rotate, report, gateway, key check
    verdict  TEXT NOT NULL,   -- doctor's verdict line
    host     TEXT
);
CREATE INDEX network_incidents_at ON network_incidents(at);

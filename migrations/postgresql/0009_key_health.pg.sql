-- 0009_key_health (PostgreSQL): as ../0009_key_health.sql.
ALTER TABLE keys ADD COLUMN failed_because TEXT
    CHECK (failed_because IS NULL OR failed_because IN ('invalid', 'forbidden', 'no_credit', 'rate_limited', 'provider_error', 'unexpected'));
ALTER TABLE keys ADD COLUMN probe_attempts BIGINT CHECK (probe_attempts IS NULL OR probe_attempts >= 0);
ALTER TABLE keys ADD COLUMN next_probe_at TEXT;
ALTER TABLE keys ADD COLUMN expires_at TEXT;

CREATE TABLE network_incidents (
    id       TEXT PRIMARY KEY CHECK (length(id) BETWEEN 3 AND 32),
    at       TEXT NOT NULL,
    provider TEXT NOT NULL,
    scope    TEXT,
    key_id   TEXT,
    outcome  TEXT NOT NULL CHECK (outcome IN ('dns_error', 'connect_error', 'tls_error', 'proxy_error', 'timeout')),
    source   TEXT NOT NULL,
    verdict  TEXT NOT NULL,
    host     TEXT
);
CREATE INDEX network_incidents_at ON network_incidents(at);

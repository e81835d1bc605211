-- 0008_gateway: a pool may spread the gateway's traffic over its healthy
-- keys (rotation_policies.spread, NULL = the active key alone), and the
-- gateway's traffic per key and hour, for the last-24-hours view.

ALTER TABLE rotation_policies ADD COLUMN spread TEXT
    CHECK (spread IS NULL OR spread IN ('round-robin', 'least-in-flight'));

-- Observations, like keys.last_outcome: not authenticated by a row MAC.
-- Rows older than 7 days are pruned when new counts are written.
CREATE TABLE key_traffic (
    key_id       TEXT NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
    hour         TEXT NOT NULL,  -- UTC, 'YYYY-MM-DDTHH:00:00Z'
    ok           INTEGER NOT NULL DEFAULT 0 CHECK (ok >= 0),
    failed       INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),              -- invalid, forbidden, no_credit
    rate_limited INTEGER NOT NULL DEFAULT 0 CHECK (rate_limited >= 0),
    errors       INTEGER NOT NULL DEFAULT 0 CHECK (errors >= 0),              -- provider, timeout, network
    PRIMARY KEY (key_id, hour)
);

-- The 24-hour view and the pruning read by hour.
CREATE INDEX key_traffic_hour ON key_traffic(hour);

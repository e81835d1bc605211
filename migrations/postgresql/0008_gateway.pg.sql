-- 0008_gateway (PostgreSQL): as ../0008_gateway.sql.
ALTER TABLE rotation_policies ADD COLUMN spread TEXT
    CHECK (spread IS NULL OR spread IN ('round-robin', 'least-in-flight'));

CREATE TABLE key_traffic (
    key_id       TEXT NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
    hour         TEXT NOT NULL,
    ok           BIGINT NOT NULL DEFAULT 0 CHECK (ok >= 0),
    failed       BIGINT NOT NULL DEFAULT 0 CHECK (failed >= 0),
    rate_limited BIGINT NOT NULL DEFAULT 0 CHECK (rate_limited >= 0),
    errors       BIGINT NOT NULL DEFAULT 0 CHECK (errors >= 0),
    PRIMARY KEY (key_id, hour)
);
CREATE INDEX key_traffic_hour ON key_traffic(hour);

-- 0010_key_headroom (PostgreSQL): as ../0010_key_headroom.sql.
CREATE TABLE key_headroom (
    key_id      TEXT PRIMARY KEY NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
    balance     TEXT,
    currency    TEXT,
    balance_at  TEXT,
    rate_limits TEXT,
    CHECK ((balance IS NULL) = (balance_at IS NULL))
);

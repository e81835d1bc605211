-- 0005_revoke_timeout (PostgreSQL): as ../0005_revoke_timeout.sql.
ALTER TABLE rotation_policies ADD COLUMN revoke_timeout_seconds BIGINT NOT NULL DEFAULT 60
    CHECK (revoke_timeout_seconds > 0);

-- 0005_revoke_timeout: the revoke command's time limit, set per policy
-- (`rotate policy … --revoke-timeout 60s`). It was a fixed 60 s; a revoke
-- that calls a slow provider API may need longer, a local script less.

ALTER TABLE rotation_policies ADD COLUMN revoke_timeout_seconds INTEGER NOT NULL DEFAULT 60
    CHECK (revoke_timeout_seconds > 0);

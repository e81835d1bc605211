-- 0003_rotation (PostgreSQL): as ../0003_rotation.sql. `only` is a reserved
-- word in PostgreSQL, so the column is quoted here and in every statement.
CREATE TABLE rotation_policies (
    provider        TEXT NOT NULL REFERENCES providers(name) ON DELETE RESTRICT,
    scope           TEXT NOT NULL REFERENCES scopes(name) ON DELETE RESTRICT,
    every_seconds   BIGINT CHECK (every_seconds IS NULL OR every_seconds > 0),
    grace_seconds   BIGINT NOT NULL CHECK (grace_seconds >= 0),
    command         TEXT,
    revoke_command  TEXT,
    command_timeout_seconds BIGINT NOT NULL DEFAULT 60 CHECK (command_timeout_seconds > 0),
    failover        BIGINT NOT NULL CHECK (failover IN (0, 1)),
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (provider, scope)
);

CREATE TABLE rotations (
    id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 3 AND 32),
    provider    TEXT NOT NULL,
    scope       TEXT NOT NULL,
    old_key_id  TEXT,
    new_key_id  TEXT,
    trigger     TEXT NOT NULL CHECK (trigger IN ('manual', 'due', 'failover', 'scheduler')),
    step        TEXT NOT NULL CHECK (step IN ('create', 'set', 'test', 'finish', 'done', 'failed', 'rolled_back')),
    started_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    detail      TEXT
);
CREATE UNIQUE INDEX rotations_one_open_per_pool ON rotations (provider, scope)
    WHERE step IN ('create', 'set', 'test', 'finish');

ALTER TABLE keys ADD COLUMN retire_after TEXT;

CREATE TABLE exported_files (
    path        TEXT PRIMARY KEY,
    scope       TEXT NOT NULL REFERENCES scopes(name) ON DELETE CASCADE,
    format      TEXT NOT NULL,
    "only"      TEXT,
    updated_at  TEXT NOT NULL
);

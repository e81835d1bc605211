-- 0003_rotation: rotation policies per (provider, scope), a record of each
-- rotation and the step it reached (so a crash can be resumed or rolled
-- back), and when a retiring key's grace period ends.

CREATE TABLE rotation_policies (
    provider        TEXT NOT NULL REFERENCES providers(name) ON DELETE RESTRICT,
    scope           TEXT NOT NULL REFERENCES scopes(name) ON DELETE RESTRICT,
    every_seconds   INTEGER CHECK (every_seconds IS NULL OR every_seconds > 0),
    grace_seconds   INTEGER NOT NULL CHECK (grace_seconds >= 0),
    -- Prints a new key on stdout; gets KEYWARDEN_PROVIDER, KEYWARDEN_SCOPE,
    -- KEYWARDEN_OLD_KEY_ID in its environment, never a key in argv.
    command         TEXT,
    -- Receives the old key on stdin when its grace period ends.
    revoke_command  TEXT,
    command_timeout_seconds INTEGER NOT NULL DEFAULT 60 CHECK (command_timeout_seconds > 0),
    failover        INTEGER NOT NULL CHECK (failover IN (0, 1)),
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
-- At most one unfinished rotation per pool.
CREATE UNIQUE INDEX rotations_one_open_per_pool ON rotations (provider, scope)
    WHERE step IN ('create', 'set', 'test', 'finish');

ALTER TABLE keys ADD COLUMN retire_after TEXT;

-- Files `export --output` wrote, so `rotate --reexport` can rewrite them with
-- the new key (same format and selection).
CREATE TABLE exported_files (
    path        TEXT PRIMARY KEY,
    scope       TEXT NOT NULL REFERENCES scopes(name) ON DELETE CASCADE,
    format      TEXT NOT NULL,
    only        TEXT,
    updated_at  TEXT NOT NULL
);

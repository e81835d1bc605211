-- 0001_initial: the vault header, keyslots, scopes, providers, keys, config
-- entries and the audit trail. Invariants live here, not in Swift: the code
-- may have bugs, the constraints still hold.

-- One row: the vault's identity (bound into every ciphertext's associated
-- data) and the head of the audit hash chain (so that deleting the newest
-- events is detected, not only editing older ones).
CREATE TABLE vault (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    vault_id        TEXT NOT NULL CHECK (length(vault_id) = 32),
    created_at      TEXT NOT NULL,
    audit_head_seq  INTEGER NOT NULL DEFAULT 0 CHECK (audit_head_seq >= 0),
    audit_head_hash TEXT NOT NULL
);

-- Each slot wraps the same master key under another key-encryption key.
CREATE TABLE keyslots (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('passphrase', 'keyfile')),
    label       TEXT NOT NULL UNIQUE CHECK (length(label) BETWEEN 1 AND 64),
    kdf_ops     INTEGER,
    kdf_mem     INTEGER,
    salt        BLOB,
    nonce       BLOB NOT NULL CHECK (length(nonce) = 24),
    wrapped_key BLOB NOT NULL CHECK (length(wrapped_key) = 48),
    created_at  TEXT NOT NULL,
    CHECK ((kind = 'passphrase') = (salt IS NOT NULL AND kdf_ops IS NOT NULL AND kdf_mem IS NOT NULL))
);

CREATE TABLE scopes (
    name        TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 128),
    parent      TEXT REFERENCES scopes(name) ON DELETE RESTRICT,
    created_at  TEXT NOT NULL,
    CHECK (parent IS NULL OR parent <> name)
);

-- Built-in providers are defined in code; a row exists for them once a key
-- refers to them or the user overrides a setting. User-defined providers keep
-- their whole definition here as JSON.
CREATE TABLE providers (
    name        TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    builtin     INTEGER NOT NULL CHECK (builtin IN (0, 1)),
    definition  TEXT,
    base_url    TEXT,
    env         TEXT,
    updated_at  TEXT NOT NULL,
    CHECK (builtin = 1 OR definition IS NOT NULL)
);

CREATE TABLE keys (
    id              TEXT PRIMARY KEY CHECK (length(id) BETWEEN 3 AND 32),
    provider        TEXT NOT NULL REFERENCES providers(name) ON DELETE RESTRICT,
    scope           TEXT NOT NULL REFERENCES scopes(name) ON DELETE RESTRICT,
    label           TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 128),
    env             TEXT NOT NULL CHECK (length(env) BETWEEN 1 AND 128),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'active', 'standby', 'retiring', 'revoked', 'failed')),
    version         INTEGER NOT NULL CHECK (version >= 1),
    nonce           BLOB NOT NULL CHECK (length(nonce) = 24),
    ciphertext      BLOB NOT NULL CHECK (length(ciphertext) > 16),
    hint            TEXT NOT NULL,
    fingerprint     TEXT NOT NULL CHECK (length(fingerprint) = 64),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    activated_at    TEXT,
    last_outcome    TEXT,
    last_checked_at TEXT,
    last_detail     TEXT,
    UNIQUE (provider, scope, label),
    -- The same secret twice in one pool is always a mistake.
    UNIQUE (provider, scope, fingerprint)
);
-- At most one active key per (provider, scope), at every commit.
CREATE UNIQUE INDEX keys_one_active_per_pool ON keys (provider, scope) WHERE state = 'active';
CREATE INDEX keys_by_fingerprint ON keys (fingerprint);
CREATE INDEX keys_by_scope ON keys (scope);

CREATE TABLE config_entries (
    id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 3 AND 32),
    scope       TEXT NOT NULL REFERENCES scopes(name) ON DELETE RESTRICT,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    secret      INTEGER NOT NULL CHECK (secret IN (0, 1)),
    version     INTEGER NOT NULL CHECK (version >= 1),
    nonce       BLOB NOT NULL CHECK (length(nonce) = 24),
    ciphertext  BLOB NOT NULL CHECK (length(ciphertext) >= 16),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (scope, name)
);

-- Append-only and hash-chained. `hash` is NULL only for events written while
-- the vault was locked (failed unlocks): the next unlocked write seals them
-- into the chain, which is the only update ever allowed.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_uid   INTEGER NOT NULL,
    actor_pid   INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    provider    TEXT,
    scope       TEXT,
    key_id      TEXT,
    fingerprint TEXT,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    hash        TEXT CHECK (hash IS NULL OR length(hash) = 64)
);
CREATE INDEX audit_events_by_key ON audit_events (key_id);
CREATE INDEX audit_events_by_at ON audit_events (at);

CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_append_only_update
BEFORE UPDATE OF seq, at, actor_uid, actor_pid, actor, action, provider, scope, key_id, fingerprint, outcome, detail ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_seal_once BEFORE UPDATE OF hash ON audit_events
WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

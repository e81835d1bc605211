-- 0002_agent_tokens (PostgreSQL): as ../0002_agent_tokens.sql.
CREATE TABLE agent_tokens (
    id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 3 AND 32),
    name        TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    hash        TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    scopes      TEXT NOT NULL,
    providers   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT,
    last_used_at TEXT
);

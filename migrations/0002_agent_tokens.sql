-- 0002_agent_tokens: client credentials for the agent. Only a keyed hash of
-- each token is stored; the token itself is shown once, at creation.
CREATE TABLE agent_tokens (
    id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 3 AND 32),
    name        TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    hash        TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    -- JSON arrays; a token reads only these scopes (and their parents' values
    -- as inherited by them) and, when non-empty, only these providers.
    scopes      TEXT NOT NULL,
    providers   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT,
    last_used_at TEXT
);

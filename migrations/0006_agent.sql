-- 0006_agent: which config entries a token may read. A JSON array of names,
-- or ["*"] for all of its scopes' entries; empty (the default, also for tokens
-- created before this migration) means none: a token reads config only when
-- it was granted explicitly.
ALTER TABLE agent_tokens ADD COLUMN config TEXT NOT NULL DEFAULT '[]';

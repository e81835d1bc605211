-- 0006_agent (PostgreSQL): as ../0006_agent.sql.
ALTER TABLE agent_tokens ADD COLUMN config TEXT NOT NULL DEFAULT '[]';

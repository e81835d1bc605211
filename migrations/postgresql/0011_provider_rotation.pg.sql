-- 0011_provider_rotation (PostgreSQL): as ../0011_provider_rotation.sql.
ALTER TABLE keys ADD COLUMN role TEXT CHECK (role IS NULL OR role IN ('admin'));
ALTER TABLE keys ADD COLUMN provider_key_id TEXT;
ALTER TABLE rotation_policies ADD COLUMN via TEXT
    CHECK (via IS NULL OR via IN ('openai-admin', 'openrouter-management', 'anthropic-admin'));
ALTER TABLE rotation_policies ADD COLUMN admin_key TEXT;
ALTER TABLE rotation_policies ADD COLUMN project TEXT;

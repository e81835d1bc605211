-- 0011_provider_rotation: rotation through the providers' own APIs.
--
-- keys.role: 'admin' marks an admin or management key (OpenAI Admin API,
-- OpenRouter management, Anthropic Admin API). It is never delivered by
-- export, run, inject, the agent's environment routes or the gateway unless
-- asked (`export --include-admin`). NULL: an ordinary key.
-- keys.provider_key_id: the provider-side id of a key Keywarden created
-- (OpenAI 'PROJECT/SERVICE_ACCOUNT', OpenRouter's hash), so it can be deleted
-- there again. Both decide what happens to a key: covered by the keys row MAC.
ALTER TABLE keys ADD COLUMN role TEXT CHECK (role IS NULL OR role IN ('admin'));
ALTER TABLE keys ADD COLUMN provider_key_id TEXT;

-- rotation_policies.via names a built-in rotator instead of a command;
-- admin_key is the kw://SCOPE/NAME reference of the admin key it uses;
-- project is OpenAI's project id. Covered by the policies row MAC.
ALTER TABLE rotation_policies ADD COLUMN via TEXT
    CHECK (via IS NULL OR via IN ('openai-admin', 'openrouter-management', 'anthropic-admin'));
ALTER TABLE rotation_policies ADD COLUMN admin_key TEXT;
ALTER TABLE rotation_policies ADD COLUMN project TEXT;

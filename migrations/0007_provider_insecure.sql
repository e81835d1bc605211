-- 0007_provider_insecure: the user allowed a plain http:// base URL to a host
-- that is not loopback (`provider set/add --allow-insecure-http`). Without it,
-- keys travel over http:// only to 127.0.0.0/8, ::1 or localhost. One column
-- for built-in overrides and custom providers alike; it is reset whenever the
-- base URL changes without the option. The providers row MAC must cover it.
ALTER TABLE providers ADD COLUMN allow_insecure_http INTEGER NOT NULL DEFAULT 0 CHECK (allow_insecure_http IN (0, 1));

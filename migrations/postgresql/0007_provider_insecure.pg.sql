-- 0007_provider_insecure (PostgreSQL): as ../0007_provider_insecure.sql.
ALTER TABLE providers ADD COLUMN allow_insecure_http BIGINT NOT NULL DEFAULT 0 CHECK (allow_insecure_http IN (0, 1));

-- 0004_row_macs (PostgreSQL): as ../0004_row_macs.sql.
ALTER TABLE vault ADD COLUMN mac BYTEA;
ALTER TABLE keyslots ADD COLUMN mac BYTEA;
ALTER TABLE scopes ADD COLUMN mac BYTEA;
ALTER TABLE providers ADD COLUMN mac BYTEA;
ALTER TABLE keys ADD COLUMN mac BYTEA;
ALTER TABLE config_entries ADD COLUMN mac BYTEA;
ALTER TABLE agent_tokens ADD COLUMN mac BYTEA;
ALTER TABLE rotation_policies ADD COLUMN mac BYTEA;
ALTER TABLE exported_files ADD COLUMN mac BYTEA;

ALTER TABLE vault ADD COLUMN row_macs_pending BIGINT NOT NULL DEFAULT 0 CHECK (row_macs_pending IN (0, 1));
ALTER TABLE vault ADD COLUMN audit_v2_from_seq BIGINT NOT NULL DEFAULT 1 CHECK (audit_v2_from_seq >= 1);
UPDATE vault SET row_macs_pending = 1, audit_v2_from_seq = audit_head_seq + 1;

ALTER TABLE audit_events ADD COLUMN recorded_locked BIGINT NOT NULL DEFAULT 0 CHECK (recorded_locked IN (0, 1));

-- The mark is part of a sealed event's hash: it cannot change once sealed.
CREATE FUNCTION audit_events_recorded_locked_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.hash IS NOT NULL AND NEW.recorded_locked IS DISTINCT FROM OLD.recorded_locked THEN
        RAISE EXCEPTION 'audit events are append-only';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_events_recorded_locked_once BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_recorded_locked_once();

-- 0004_row_macs: a keyed MAC on every row that decides where a key goes or
-- what runs, so that someone who can write this file but has no key cannot
-- change a base URL, a rotation command, a key's state, a token's grant, an
-- exported file, a secret flag or a keyslot. The MAC is computed and checked
-- in Swift (KeywardenCore/Storage/RowAuthentication.swift lists the columns
-- each MAC covers); SQLite only stores it.
ALTER TABLE vault ADD COLUMN mac BLOB;
ALTER TABLE keyslots ADD COLUMN mac BLOB;
ALTER TABLE scopes ADD COLUMN mac BLOB;
ALTER TABLE providers ADD COLUMN mac BLOB;
ALTER TABLE keys ADD COLUMN mac BLOB;
ALTER TABLE config_entries ADD COLUMN mac BLOB;
ALTER TABLE agent_tokens ADD COLUMN mac BLOB;
ALTER TABLE rotation_policies ADD COLUMN mac BLOB;
ALTER TABLE exported_files ADD COLUMN mac BLOB;

-- Set by this migration on a vault that already has rows without MACs; the
-- first unlock computes them all in one transaction and clears it. The flag
-- is covered by the header's own MAC, so it cannot be set again to launder a
-- changed row.
ALTER TABLE vault ADD COLUMN row_macs_pending INTEGER NOT NULL DEFAULT 0 CHECK (row_macs_pending IN (0, 1));

-- Events from this sequence number on are hashed in the v2 form, which
-- includes `recorded_locked`. Older events keep the form they were sealed in.
ALTER TABLE vault ADD COLUMN audit_v2_from_seq INTEGER NOT NULL DEFAULT 1 CHECK (audit_v2_from_seq >= 1);

UPDATE vault SET row_macs_pending = 1, audit_v2_from_seq = audit_head_seq + 1;

-- 1: recorded while the vault was locked (a failed unlock), so nobody with the
-- key vouched for its content. It is part of the event's hash: once sealed
-- into the chain the mark cannot be removed.
ALTER TABLE audit_events ADD COLUMN recorded_locked INTEGER NOT NULL DEFAULT 0 CHECK (recorded_locked IN (0, 1));

CREATE TRIGGER audit_events_recorded_locked_once BEFORE UPDATE OF recorded_locked ON audit_events
WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

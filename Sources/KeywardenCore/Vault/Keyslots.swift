import Foundation
import GRDB
import KeywardenCrypto

extension Vault {
    /// The vault's keyslots, without their wrapped keys.
    public func listKeyslots() throws(KeywardenError) -> [KeyslotInfo] {
        try read { db in
            try KeyslotRecord.order(Column("id")).fetchAll(db).map(Self.info)
        }
    }

    /// Adds a keyslot that wraps the same master key.
    public func addKeyslot(_ slot: NewKeyslot) throws(KeywardenError) -> KeyslotInfo {
        let labels: [String] = try read { db in try KeyslotRecord.fetchAll(db).map(\.label) }
        var record = try makeKeyslot(slot, existing: labels)
        do {
            return try write { db in
                try record.insert(db)
                // KeyslotRecord does not take its rowid back on insert; without this the
                // id printed and audited is 0 instead of the one `keyslot list` shows.
                record.id = db.lastInsertedRowID
                try appendAudit(AuditDraft(action: "keyslot.add", outcome: "ok", detail: "\(record.kind) slot \(record.id ?? 0) '\(record.label)'"), db)
                return Self.info(record)
            }
        } catch {
            if case .keyfile(let path) = slot { unlink(path) }
            throw error
        }
    }

    /// Removes a keyslot; refuses to remove the last one (the vault would be lost).
    public func removeKeyslot(id: Int64) throws(KeywardenError) -> KeyslotInfo {
        try write { db in
            guard let record = try KeyslotRecord.fetchOne(db, key: id) else {
                throw KeywardenError(.notFound, "no keyslot with id \(id); see `keywarden keyslot list`")
            }
            guard try KeyslotRecord.fetchCount(db) > 1 else {
                throw KeywardenError(.conflict, "keyslot \(id) is the vault's last keyslot; removing it would make the vault unreadable. Add another first (`keywarden keyslot add`)")
            }
            _ = try record.delete(db)
            try appendAudit(AuditDraft(action: "keyslot.remove", outcome: "ok", detail: "\(record.kind) slot \(id) '\(record.label)'"), db)
            return Self.info(record)
        }
    }

    /// Rewraps the master key under a new passphrase in an existing passphrase
    /// slot (the only one, or `slotID`). Nothing else in the vault changes.
    public func changePassphrase(slotID: Int64?, to passphrase: SecureBytes, parameters: PasswordHashParameters?) throws(KeywardenError) -> KeyslotInfo {
        guard passphrase.count > 0 else { throw KeywardenError(.invalidInput, "the new passphrase is empty; nothing was changed") }
        let slots: [KeyslotRecord] = try read { db in try KeyslotRecord.filter(Column("kind") == "passphrase").order(Column("id")).fetchAll(db) }
        let target: KeyslotRecord
        if let slotID {
            guard let slot = slots.first(where: { $0.id == slotID }) else {
                throw KeywardenError(.notFound, "no passphrase keyslot with id \(slotID); see `keywarden keyslot list`")
            }
            target = slot
        } else {
            guard slots.count == 1 else {
                throw KeywardenError(.invalidInput, slots.isEmpty
                    ? "this vault has no passphrase slot; add one with `keywarden keyslot add passphrase`"
                    : "this vault has \(slots.count) passphrase slots; choose one with --slot ID")
            }
            target = slots[0]
        }
        let current = PasswordHashParameters(opsLimit: UInt64(target.kdfOps ?? 0), memLimit: UInt64(target.kdfMem ?? 0))
        let fresh = try makeKeyslot(.passphrase(passphrase, parameters ?? current), existing: [])
        return try write { db in
            var record = target
            record.salt = fresh.salt
            record.kdfOps = fresh.kdfOps
            record.kdfMem = fresh.kdfMem
            record.nonce = fresh.nonce
            record.wrappedKey = fresh.wrappedKey
            try record.update(db)
            try appendAudit(AuditDraft(action: "keyslot.passwd", outcome: "ok", detail: "passphrase slot \(record.id ?? 0) '\(record.label)' rewrapped"), db)
            return Self.info(record)
        }
    }

    /// A summary of the vault.
    public func status() throws(KeywardenError) -> VaultStatus {
        let schema = (try? database.appliedMigrations()) ?? []
        return try read { db in
            let header = try VaultHeaderRecord.fetchOne(db)
            return VaultStatus(
                path: database.location.databasePath, vaultId: vaultID, schema: schema,
                createdAt: header.flatMap { Timestamp(iso8601: $0.createdAt) } ?? Timestamp(millisecondsSince1970: 0),
                keyslots: try KeyslotRecord.fetchCount(db), scopes: try ScopeRecord.fetchCount(db),
                keys: try KeyRecord.fetchCount(db),
                activeKeys: try KeyRecord.filter(Column("state") == KeyState.active.rawValue).fetchCount(db),
                config: try ConfigEntryRecord.fetchCount(db),
                auditEvents: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_events") ?? 0)
        }
    }

    static func info(_ record: KeyslotRecord) -> KeyslotInfo {
        var kdf: String?
        if let ops = record.kdfOps, let mem = record.kdfMem {
            kdf = "argon2id ops=\(ops) mem=\(mem >> 20)MiB"
        }
        return KeyslotInfo(id: record.id ?? 0, kind: record.kind, label: record.label, kdf: kdf,
                           createdAt: Timestamp(iso8601: record.createdAt) ?? Timestamp(millisecondsSince1970: 0))
    }
}

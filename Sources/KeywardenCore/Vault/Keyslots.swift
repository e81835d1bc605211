import Foundation
import KeywardenCrypto

extension Vault {
    /// The vault's keyslots, without their wrapped keys.
    public func listKeyslots() throws(KeywardenError) -> [KeyslotInfo] {
        try read { tx in try tx.keyslots().map(Self.info) }
    }

    /// Adds a keyslot that wraps the same master key.
    public func addKeyslot(_ slot: NewKeyslot) throws(KeywardenError) -> KeyslotInfo {
        try addKeyslot(slot, label: nil)
    }

    /// Adds a keyslot labelled `label` (unique; nil: `keyfile-N` or
    /// `passphrase-N`), refusing a label in use before a keyfile is written.
    /// `note` ends the audit event's detail (names and ids only).
    func addKeyslot(_ slot: NewKeyslot, label: String?, note: String? = nil) throws(KeywardenError) -> KeyslotInfo {
        let existing: [KeyslotRecord] = try read { tx in try tx.keyslots() }
        if let label, let taken = existing.first(where: { $0.label == label }) {
            throw KeywardenError(.conflict, "keyslot \(taken.id ?? 0) is already labelled '\(label)'; remove it first (`keywarden keyslot remove \(label)`). Nothing was changed")
        }
        var record = try makeKeyslot(slot, existing: existing.map(\.label), label: label)
        do {
            return try write { tx in
                // The id printed and audited is the one `keyslot list` shows.
                record.id = try tx.insert(record)
                try appendAudit(AuditDraft(action: "keyslot.add", outcome: "ok",
                                           detail: "\(record.kind.rawValue) slot \(record.id ?? 0) '\(record.label)'" + (note.map { ": \($0)" } ?? "")), tx)
                return Self.info(record)
            }
        } catch {
            if case .keyfile(let path) = slot { unlink(path) }
            throw error
        }
    }

    /// Removes a keyslot; refuses to remove the last one (the vault would be lost).
    public func removeKeyslot(id: Int64) throws(KeywardenError) -> KeyslotInfo {
        try removeKeyslot(matching: { $0.id == id }, named: "with id \(id)")
    }

    /// Removes the keyslot labelled `label` (`host:web-3`); never the last one.
    public func removeKeyslot(label: String) throws(KeywardenError) -> KeyslotInfo {
        try removeKeyslot(matching: { $0.label == label }, named: "labelled '\(DisplayText.sanitized(label))'")
    }

    private func removeKeyslot(matching: (KeyslotRecord) -> Bool, named: String) throws(KeywardenError) -> KeyslotInfo {
        try write { tx in
            let slots = try tx.keyslots()
            guard let record = slots.first(where: matching), let id = record.id else {
                throw KeywardenError(.notFound, "no keyslot \(named); see `keywarden keyslot list`")
            }
            guard slots.count > 1 else {
                throw KeywardenError(.conflict, "keyslot \(id) is the vault's last keyslot; removing it would make the vault unreadable. Add another first (`keywarden keyslot add`)")
            }
            try tx.delete(record)
            try appendAudit(AuditDraft(action: "keyslot.remove", outcome: "ok", detail: "\(record.kind.rawValue) slot \(id) '\(record.label)'"), tx)
            return Self.info(record)
        }
    }

    /// Rewraps the master key under a new passphrase in an existing passphrase
    /// slot (the only one, or `slotID`). Nothing else in the vault changes.
    public func changePassphrase(slotID: Int64?, to passphrase: SecureBytes, parameters: PasswordHashParameters?) throws(KeywardenError) -> KeyslotInfo {
        guard passphrase.count > 0 else { throw KeywardenError(.invalidInput, "the new passphrase is empty; nothing was changed") }
        let slots: [KeyslotRecord] = try read { tx in try tx.keyslots().filter { $0.kind == .passphrase } }
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
        return try write { tx in
            var record = target
            record.salt = fresh.salt
            record.kdfOps = fresh.kdfOps
            record.kdfMem = fresh.kdfMem
            record.nonce = fresh.nonce
            record.wrappedKey = fresh.wrappedKey
            try tx.update(record)
            try appendAudit(AuditDraft(action: "keyslot.passwd", outcome: "ok", detail: "passphrase slot \(record.id ?? 0) '\(record.label)' rewrapped"), tx)
            return Self.info(record)
        }
    }

    /// A summary of the vault.
    public func status() throws(KeywardenError) -> VaultStatus {
        let schema = (try? store.appliedMigrations()) ?? []
        return try read { tx in
            guard let header = try tx.header() else { throw KeywardenError(.integrity, "the vault header is missing; restore the vault from a backup") }
            let counts = try tx.counts()
            var status = VaultStatus(
                path: store.displayLocation, vaultId: vaultID, schema: schema, createdAt: header.createdAt,
                keyslots: counts.keyslots, scopes: counts.scopes, keys: counts.keys, activeKeys: counts.activeKeys,
                config: counts.configEntries, auditEvents: counts.auditEvents, gatewayTraffic24h: try gatewayTraffic24h(tx),
                balances: try statusBalances(tx))
            try addKeyHealth(to: &status, tx)
            return status
        }
    }

    static func info(_ record: KeyslotRecord) -> KeyslotInfo {
        var kdf: String?
        if let ops = record.kdfOps, let mem = record.kdfMem {
            kdf = "argon2id ops=\(ops) mem=\(mem >> 20)MiB"
        }
        return KeyslotInfo(id: record.id ?? 0, kind: record.kind.rawValue, label: record.label, kdf: kdf, createdAt: record.createdAt)
    }
}

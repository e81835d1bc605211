import Foundation
import KeywardenCrypto

extension Vault {
    /// Sets a config entry, creating it or sealing a new version. A secret
    /// entry stays secret: setting it again without `secret` does not expose it.
    public func setConfig(scope: String, name: String, value: SecureBytes, secret: Bool) throws(KeywardenError) -> (entry: ConfigEntryInfo, created: Bool) {
        try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule)
        try Names.require(Names.isEnvironmentVariable(name), "config name", name, Names.envRule)
        let hasNUL = value.withUnsafeBytes { $0.contains(0) }
        guard !hasNUL else { throw KeywardenError(.invalidInput, "the value of \(name) contains a NUL byte, which no environment variable can carry; nothing was stored") }
        guard value.count <= 1 << 20 else { throw KeywardenError(.invalidInput, "the value of \(name) is larger than 1 MiB; nothing was stored") }
        return try write { tx in try upsertConfig(scope: scope, name: name, value: value, secret: secret, tx) }
    }

    /// Creates or updates a config entry inside the caller's transaction.
    func upsertConfig(scope: String, name: String, value: SecureBytes, secret: Bool, auditDetail: String? = nil, _ tx: any StoreWriting) throws -> (entry: ConfigEntryInfo, created: Bool) {
        guard try tx.scopeExists(scope) else { throw KeywardenError.unknownScope(scope) }
        try checkVariableIsFree(name, scope: scope, exceptProvider: nil, tx)
        var record: ConfigEntryRecord
        let created: Bool
        if var existing = try tx.configEntry(scope: scope, name: name) {
            existing.version += 1
            existing.secret = existing.secret || secret
            existing.updatedAt = now
            record = existing
            created = false
        } else {
            record = ConfigEntryRecord(id: Self.newIdentifier(prefix: "c_"), scope: scope, name: name, secret: secret, version: 1,
                                       nonce: Data(), ciphertext: Data(), createdAt: now, updatedAt: now)
            created = true
        }
        if !record.secret && !value.isValidUTF8 {
            throw KeywardenError(.invalidInput, "the value of \(name) is not valid UTF-8 text; store it with --secret. Nothing was stored")
        }
        let box = try seal(value, for: RowBinding(config: record))
        record.nonce = Data(box.nonce)
        record.ciphertext = Data(box.ciphertext)
        try tx.save(record)
        try appendAudit(AuditDraft(action: "config.set", scope: scope, fingerprint: record.secret ? fingerprint(of: value) : nil, outcome: "ok",
                                   detail: "\(name) version \(record.version)\(record.secret ? " (secret)" : "")\(auditDetail.map { ", \($0)" } ?? "")"), tx)
        return (try info(record, value: record.secret ? nil : value), created)
    }

    /// Reads a config entry from the scope or the nearest parent that has it,
    /// recording the read.
    public func getConfig(scope: String, name: String) throws(KeywardenError) -> (entry: ConfigEntryInfo, value: SecureBytes) {
        let record: ConfigEntryRecord = try read { tx in
            for candidate in try scopeChain(scope, tx) {
                if let record = try tx.configEntry(scope: candidate, name: name) {
                    return record
                }
            }
            throw KeywardenError.unknownConfig(name, scope: scope)
        }
        let value = try open(nonce: record.nonce, ciphertext: record.ciphertext, for: RowBinding(config: record))
        try recordAudit(AuditDraft(action: "config.read", scope: record.scope, outcome: "ok", detail: "\(name)\(record.scope != scope ? " (inherited by \(scope))" : "")"))
        var entry = try info(record, value: record.secret ? nil : value)
        if record.scope != scope { entry.inheritedBy = scope }
        return (entry, value)
    }

    /// Config entries of a scope (with those inherited from its parents, marked
    /// `inherited_by`), or of every scope. Plain values are shown, secret ones not.
    public func listConfig(scope: String?) throws(KeywardenError) -> [ConfigEntryInfo] {
        let records: [(ConfigEntryRecord, inheritedBy: String?)] = try read { tx in
            guard let scope else {
                return try tx.configEntries(scope: nil).map { ($0, nil) }
            }
            var seen = Set<String>()
            var result: [(ConfigEntryRecord, String?)] = []
            for candidate in try scopeChain(scope, tx) {
                for record in try tx.configEntries(scope: candidate) where !seen.contains(record.name) {
                    seen.insert(record.name)
                    result.append((record, candidate == scope ? nil : scope))
                }
            }
            return result
        }
        var entries: [ConfigEntryInfo] = []
        for (record, inheritedBy) in records {
            let value = record.secret ? nil : try open(nonce: record.nonce, ciphertext: record.ciphertext, for: RowBinding(config: record))
            var entry = try info(record, value: value)
            entry.inheritedBy = inheritedBy
            entries.append(entry)
        }
        return entries
    }

    /// Removes a config entry from one scope (not from its parents).
    public func unsetConfig(scope: String, name: String) throws(KeywardenError) {
        try write { tx in
            guard try tx.scopeExists(scope) else { throw KeywardenError.unknownScope(scope) }
            guard let record = try tx.configEntry(scope: scope, name: name) else {
                throw KeywardenError(.notFound, "no config entry '\(name)' in scope '\(scope)' (entries inherited from a parent are unset there)")
            }
            try tx.delete(record)
            try appendAudit(AuditDraft(action: "config.unset", scope: scope, outcome: "ok", detail: name), tx)
        }
    }

    private func info(_ record: ConfigEntryRecord, value: SecureBytes?) throws(KeywardenError) -> ConfigEntryInfo {
        ConfigEntryInfo(
            id: record.id, scope: record.scope, name: record.name, secret: record.secret,
            value: value.map { v in v.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } },
            version: record.version, updatedAt: record.updatedAt,
            inheritedBy: nil)
    }
}

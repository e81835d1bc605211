import Foundation
import GRDB
import KeywardenCrypto

/// Which keys `validate` checks.
public struct ValidationSelection: Sendable {
    public var provider: String?
    public var scope: String?
    public var keyID: String?
    /// Also retiring, revoked and failed keys (default: active, standby, pending).
    public var all = false

    public init(provider: String? = nil, scope: String? = nil, keyID: String? = nil, all: Bool = false) {
        self.provider = provider
        self.scope = scope
        self.keyID = keyID
        self.all = all
    }
}

extension Vault {
    /// The keys to check, decrypted, with their providers' effective definitions.
    public func keysToCheck(_ selection: ValidationSelection) throws(KeywardenError) -> [KeyToCheck] {
        if let scope = selection.scope { try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule) }
        let records: [(KeyRecord, ProviderDefinition)] = try read { db in
            var request = KeyRecord.all()
            if let id = selection.keyID {
                guard try KeyRecord.exists(db, key: id) else { throw KeywardenError.unknownKey(id) }
                request = request.filter(Column("id") == id)
            } else if !selection.all {
                request = request.filter([KeyState.active, .standby, .pending].map(\.rawValue).contains(Column("state")))
            }
            if let p = selection.provider {
                _ = try provider(named: p, db)
                request = request.filter(Column("provider") == p)
            }
            if let s = selection.scope {
                guard try ScopeRecord.exists(db, key: s) else { throw KeywardenError.unknownScope(s) }
                request = request.filter(Column("scope") == s)
            }
            var definitions: [String: ProviderDefinition] = [:]
            return try request.order(Column("provider"), Column("scope"), Column("created_at")).fetchAll(db).map { record in
                if definitions[record.provider] == nil { definitions[record.provider] = try provider(named: record.provider, db) }
                return (record, definitions[record.provider]!)
            }
        }
        for (_, definition) in records where definition.probe == nil {
            throw KeywardenError(.invalidInput, "provider '\(definition.name)' has no probe request, so its keys cannot be checked; define one with `keywarden provider add … --probe-path PATH`")
        }
        var result: [KeyToCheck] = []
        for (record, definition) in records {
            let value = try open(nonce: record.nonce, ciphertext: record.ciphertext, for: RowBinding(key: record))
            result.append(KeyToCheck(key: KeyInfo(record), provider: definition, value: value))
        }
        return result
    }

    /// Stores each key's last outcome and writes one audit event per check,
    /// in one transaction, so `key list` and `audit --failed-auth` answer
    /// "which key failed, when, and by which check".
    public func recordChecks(_ checks: [KeyCheck], by check: String) throws(KeywardenError) {
        try write { db in
            for result in checks {
                try db.execute(
                    sql: "UPDATE keys SET last_outcome = ?, last_checked_at = ?, last_detail = ? WHERE id = ?",
                    arguments: [result.outcome.rawValue, result.checkedAt.iso8601, result.summary, result.id])
                try appendAudit(AuditDraft(action: "key.validate", provider: result.provider, scope: result.scope, keyID: result.id,
                                           fingerprint: result.fingerprint, outcome: result.outcome.rawValue, detail: "\(check): \(result.summary)"), db)
            }
        }
    }
}

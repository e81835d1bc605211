import Foundation
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
        let records: [(KeyRecord, ProviderDefinition)] = try read { tx in
            var query = KeyQuery(order: .providerScopeCreatedAt)
            if let id = selection.keyID {
                guard try tx.countKeys(KeyQuery(id: id)) > 0 else { throw KeywardenError.unknownKey(id) }
                query.id = id
            } else if !selection.all {
                query.states = [.active, .standby, .pending]
            }
            if let p = selection.provider {
                _ = try provider(named: p, tx)
                query.provider = p
            }
            if let s = selection.scope {
                guard try tx.scopeExists(s) else { throw KeywardenError.unknownScope(s) }
                query.scope = s
            }
            var definitions: [String: ProviderDefinition] = [:]
            return try tx.keys(query).map { record in
                if definitions[record.provider] == nil { definitions[record.provider] = try provider(named: record.provider, tx) }
                return (record, definitions[record.provider]!)
            }
        }
        for (_, definition) in records where definition.probe == nil {
            throw KeywardenError(.invalidInput, "provider '\(definition.name)' has no probe request, so its keys cannot be checked; define one with `keywarden provider add … --probe-path PATH`")
        }
        // One guarded region for the batch (SecureArena): a sodium_malloc per
        // key was 12 system calls each, a third of a 1,000-key validate.
        let arena = SecureArena(for: records.map { max(0, $0.0.ciphertext.count - AEAD.tagByteCount) })
        var result: [KeyToCheck] = []
        result.reserveCapacity(records.count)
        for (record, definition) in records {
            let value = try open(nonce: record.nonce, ciphertext: record.ciphertext, for: RowBinding(key: record), into: arena)
            result.append(KeyToCheck(key: KeyInfo(record), provider: definition, value: value))
        }
        return result
    }

    /// Stores each key's last outcome and writes one audit event per check,
    /// in one transaction, so `key list` and `audit --failed-auth` answer
    /// "which key failed, when, and by which check". The events are chained
    /// as one batch (the chain head read and written once, not per check):
    /// per check, that was most of a 1,000-key `validate`.
    ///
    /// A check that met the network (DNS, connect, TLS, proxy, a time limit)
    /// is also recorded as a network incident (`status`); `verdict` is
    /// doctor's verdict line where the caller has one.
    public func recordChecks(_ checks: [KeyCheck], by check: String, verdict: ((KeyCheck) -> String)? = nil) throws(KeywardenError) {
        try write { tx in
            for result in checks {
                try tx.recordCheck(keyID: result.id, outcome: result.outcome, at: result.checkedAt, detail: result.summary)
            }
            try recordNetworkIncidents(checks, source: NetworkIncident.source(check), verdict: verdict, tx)
            try recordHeadroom(of: checks, tx)
            try appendAudit(batch: checks.map { result in
                AuditDraft(action: "key.validate", provider: result.provider, scope: result.scope, keyID: result.id,
                           fingerprint: result.fingerprint, outcome: result.outcome.rawValue, detail: "\(check): \(result.summary)")
            }, tx)
        }
    }

    /// After a check finds an active key `invalid`, `forbidden` or out of
    /// credit, promotes its pool's next healthy standby (one that passed its
    /// own check, or was never found bad) where the pool's policy has failover on.
    public func failover(after checks: [KeyCheck]) throws(KeywardenError) -> [ReportResult] {
        let bad = checks.filter(\.outcome.callsForFailover)
        guard !bad.isEmpty else { return [] }
        return try write { tx in
            var results: [ReportResult] = []
            for check in bad {
                guard let record = try tx.key(id: check.id), try failsOver(record, after: check.outcome, tx),
                      let standby = try healthyStandby(record.pool, tx)
                else { continue }
                try promote(standby, replacing: record, reason: "validation found \(check.outcome.rawValue): \(check.reason)", tx)
                results.append(ReportResult(keyID: record.id, provider: record.provider, scope: record.scope, outcome: check.outcome, replacedBy: standby.id,
                                            message: "failover: \(standby.id) replaced \(record.id) (\(check.outcome.rawValue))"))
            }
            return results
        }
    }

    /// The one failover decision, for checks and reports alike: the key is
    /// active, the outcome says it cannot serve, and its pool's rotation
    /// policy (or the one it inherits) has failover on. Read in the caller's
    /// transaction, so the policy and the key are seen together.
    func failsOver(_ record: KeyRecord, after outcome: ValidationOutcome, _ tx: any StoreReading) throws -> Bool {
        guard record.state == .active, outcome.callsForFailover else { return false }
        return try rotationPolicy(provider: record.provider, scope: record.scope, tx)?.failover == true
    }
}

import Foundation

extension Vault {
    /// Stores what checks learned besides their outcome: each key's balance
    /// and rate-limit headroom, where the answer told them. Called in the
    /// transaction that records the checks.
    func recordHeadroom(of checks: [KeyCheck], _ tx: any StoreWriting) throws {
        for check in checks {
            if let balance = check.balance { try tx.recordBalance(keyID: check.id, balance) }
            if let rateLimits = check.rateLimits { try tx.recordRateLimits(keyID: check.id, rateLimits) }
        }
    }

    /// Fills in `keys`' balances and rate-limit headroom.
    func attachHeadroom(_ keys: inout [KeyInfo], _ tx: any StoreReading) throws {
        let rows = try tx.headroom()
        guard !rows.isEmpty else { return }
        for i in keys.indices {
            guard let row = rows[keys[i].id] else { continue }
            keys[i].balance = row.balance
            keys[i].rateLimits = row.rateLimits
        }
    }

    /// Every key with a recorded balance or rate-limit headroom, in the
    /// order of `key list`; with `states`, only keys in those states.
    public func headroomEntries(states: Set<KeyState>? = nil) throws(KeywardenError) -> [KeyBalanceEntry] {
        try read { tx in try headroomEntries(states: states, tx) }
    }

    func headroomEntries(states: Set<KeyState>?, _ tx: any StoreReading) throws -> [KeyBalanceEntry] {
        let rows = try tx.headroom()
        guard !rows.isEmpty else { return [] }
        return try tx.keys(KeyQuery(order: .providerScopeCreatedAt)).compactMap { record in
            guard let row = rows[record.id], states?.contains(record.state) ?? true else { return nil }
            return KeyBalanceEntry(keyID: record.id, provider: record.provider, scope: record.scope, state: record.state,
                                   balance: row.balance, rateLimits: row.rateLimits)
        }
    }

    /// The balances of the keys that serve or stand by, for `status`; nil when none.
    func statusBalances(_ tx: any StoreReading) throws -> [KeyBalanceEntry]? {
        let entries = try headroomEntries(states: [.active, .standby, .pending], tx).filter { $0.balance != nil }
        return entries.isEmpty ? nil : entries
    }
}

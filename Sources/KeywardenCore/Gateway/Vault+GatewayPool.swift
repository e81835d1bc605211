import Foundation
import KeywardenCrypto

extension Vault {
    /// The pool that serves `provider` for `scope` through the gateway: the
    /// scope's own active key, else the nearest parent's, with the pool's
    /// policy. Standbys are decrypted only when the policy fails over or spreads.
    ///
    /// The policy is the one in force for the pool's scope (its own, else
    /// inherited), as ``Vault/failsOver(_:after:_:)`` reads it: the pool a
    /// child scope borrows from its parent follows the parent's policy. The
    /// standbys are those failover would promote, in that order: never found
    /// bad, oldest first.
    public func gatewayPool(provider: String, scope: String) throws(KeywardenError) -> GatewayPool {
        try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule)
        // One snapshot for the records; decryption happens after it ends.
        let snapshot: (definition: ProviderDefinition, active: KeyRecord, standbys: [KeyRecord], policy: RotationPolicy?) = try read { tx in
            for level in try scopeChain(scope, tx) {
                let pool = Pool(provider: provider, scope: level)
                // An admin key never serves the gateway.
                guard let active = try tx.keys(.pool(pool, states: [.active])).first, active.role != .admin else { continue }
                let definition = try self.provider(named: provider, tx)
                let policy = try rotationPolicy(provider: provider, scope: level, tx)
                let widened = policy?.failover == true || policy?.spread != nil
                let standbys = widened ? try tx.keys(.pool(pool, states: [.standby], order: .createdAt)).filter(Self.isHealthy) : []
                return (definition, active, standbys, policy)
            }
            _ = try self.provider(named: provider, tx)
            throw KeywardenError(.notFound, "no active \(provider) key for scope \(scope) (or its parents); see `keywarden key list --scope \(scope)`")
        }
        var members = [GatewayMember(key: KeyInfo(snapshot.active), value: try decrypt(snapshot.active), role: .active)]
        for standby in snapshot.standbys {
            members.append(GatewayMember(key: KeyInfo(standby), value: try decrypt(standby), role: .standby))
        }
        return GatewayPool(provider: snapshot.definition, scope: scope, poolScope: snapshot.active.scope,
                           failover: snapshot.policy?.failover ?? false, spread: snapshot.policy?.spread, members: members)
    }

    private func decrypt(_ record: KeyRecord) throws(KeywardenError) -> SecureBytes {
        try open(nonce: record.nonce, ciphertext: record.ciphertext, for: RowBinding(key: record))
    }
}

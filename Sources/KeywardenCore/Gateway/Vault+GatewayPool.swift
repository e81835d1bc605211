import Foundation
import KeywardenCrypto

extension Vault {
    /// The pool that serves `provider` for `scope` through the gateway: the
    /// scope's own active key, else the nearest parent's, with the pool's
    /// policy. Standbys are decrypted only when the policy fails over or spreads.
    public func gatewayPool(provider: String, scope: String) throws(KeywardenError) -> GatewayPool {
        let (key, value) = try resolveActiveKey(provider: provider, scope: scope)
        let definition = try self.provider(named: provider)
        let policy = try rotationPolicy(provider: provider, scope: key.scope)
        return GatewayPool(provider: definition, scope: scope, poolScope: key.scope, failover: policy?.failover ?? false,
                           spread: policy?.spread, members: [GatewayMember(key: key, value: value, role: .active)])
    }
}

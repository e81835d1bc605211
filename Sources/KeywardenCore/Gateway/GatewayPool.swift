import Foundation
import KeywardenCrypto

/// How a pool spreads the gateway's traffic over its healthy keys
/// (`rotate policy … --spread`). Without it the active key alone serves.
public enum GatewaySpread: String, Codable, Sendable, CaseIterable {
    /// Each request goes to the next healthy key in turn.
    case roundRobin = "round-robin"
    /// Each request goes to the healthy key with the fewest requests in flight.
    case leastInFlight = "least-in-flight"
}

/// One key the gateway may forward with, decrypted.
public struct GatewayMember: Sendable {
    public enum Role: String, Sendable { case active, standby }
    public var key: KeyInfo
    public var value: SecureBytes
    public var role: Role

    public init(key: KeyInfo, value: SecureBytes, role: Role) {
        self.key = key
        self.value = value
        self.role = role
    }
}

/// The keys that may serve a provider's gateway traffic for a scope: the
/// active key first, then, when the pool's policy fails over or spreads,
/// its healthy standbys, oldest first (the order failover promotes them).
public struct GatewayPool: Sendable {
    /// The provider as stored (base URL overrides included).
    public var provider: ProviderDefinition
    /// The scope the caller asked for.
    public var scope: String
    /// The scope whose pool serves it (the scope itself or the nearest parent with an active key).
    public var poolScope: String
    /// The pool's policy: a failed active key is replaced by a healthy standby.
    public var failover: Bool
    /// The pool's policy: traffic is spread over its healthy keys.
    public var spread: GatewaySpread?
    /// Active first, then healthy standbys (only when `failover` or `spread`).
    public var members: [GatewayMember]

    public init(provider: ProviderDefinition, scope: String, poolScope: String, failover: Bool, spread: GatewaySpread?, members: [GatewayMember]) {
        self.provider = provider
        self.scope = scope
        self.poolScope = poolScope
        self.failover = failover
        self.spread = spread
        self.members = members
    }
}

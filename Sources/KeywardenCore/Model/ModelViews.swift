/// What a listing shows of a key: metadata only, never the value. The JSON
/// field names are part of the CLI contract.
public struct KeyInfo: Codable, Sendable, Equatable {
    public var id: String
    public var provider: String
    public var scope: String
    public var label: String
    public var env: String
    public var state: KeyState
    public var hint: String
    public var fingerprint: String
    public var version: Int64
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var activatedAt: Timestamp?
    /// The last validation outcome (`valid`, `invalid`, …), if ever checked.
    public var outcome: String?
    public var checkedAt: Timestamp?
    public var detail: String?
    /// Set when the key is listed for a child scope that inherits it.
    public var inheritedBy: String?
    /// The gateway's traffic with this key in the last 24 hours (`key list`); nil when none.
    public var traffic24h: KeyTraffic?
    /// `admin` for an admin or management key (never delivered unless asked); nil otherwise.
    public var role: KeyRole?
    /// The provider-side id of a key Keywarden created through an admin API.
    public var providerKeyID: String?
    /// The balance its provider last reported (`validate`); nil when never.
    public var balance: KeyBalance?
    /// The rate-limit headroom last seen (`validate`, the gateway); nil when never.
    public var rateLimits: RateLimitHeadroom?
    /// When the key stops working (`key add --expires`, or its provider's word); nil when unknown.
    public var expires: Timestamp?
    /// A failed key's cause (`rate_limited`, `invalid`, …), its recovery
    /// probes so far and when the next is due (nil: none planned).
    public var failedBecause: String?
    public var probeAttempts: Int64?
    public var nextProbeAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case id, provider, scope, label, env, state, hint, fingerprint, version
        case createdAt = "created_at", updatedAt = "updated_at", activatedAt = "activated_at"
        case outcome, checkedAt = "checked_at", detail, inheritedBy = "inherited_by", traffic24h = "traffic_24h"
        case role, providerKeyID = "provider_key_id"
        case balance, rateLimits = "rate_limits"
        case expires, failedBecause = "failed_because", probeAttempts = "probe_attempts", nextProbeAt = "next_probe_at"
    }

    init(_ r: KeyRecord) {
        id = r.id
        provider = r.provider
        scope = r.scope
        label = r.label
        env = r.env
        state = r.state
        hint = r.hint
        fingerprint = r.fingerprint
        version = r.version
        createdAt = r.createdAt
        updatedAt = r.updatedAt
        activatedAt = r.activatedAt
        outcome = r.lastOutcome?.rawValue
        checkedAt = r.lastCheckedAt
        detail = r.lastDetail
        role = r.role
        providerKeyID = r.providerKeyId
        expires = r.expiresAt
        failedBecause = r.failedBecause?.rawValue
        probeAttempts = r.probeAttempts
        nextProbeAt = r.nextProbeAt
    }
}

/// Requests the gateway forwarded with a key over a period, by the columns
/// of the last-24-hours view (``GatewayOutcome/trafficClass``).
public struct KeyTraffic: Codable, Sendable, Equatable {
    /// Answered (a client's own bad request included: the key served it).
    public var ok: Int
    /// Refused for the key: invalid, forbidden, out of credit.
    public var failed: Int
    public var rateLimited: Int
    /// Provider errors, timeouts and network failures.
    public var errors: Int

    enum CodingKeys: String, CodingKey {
        case ok, failed, rateLimited = "rate_limited", errors
    }

    public init(ok: Int = 0, failed: Int = 0, rateLimited: Int = 0, errors: Int = 0) {
        self.ok = ok
        self.failed = failed
        self.rateLimited = rateLimited
        self.errors = errors
    }

    /// Every request counted.
    public var total: Int { ok + failed + rateLimited + errors }
}

/// A config entry as listed: plain values are shown, secret ones are not.
public struct ConfigEntryInfo: Codable, Sendable, Equatable {
    public var id: String
    public var scope: String
    public var name: String
    public var secret: Bool
    /// The value for plain entries; nil for secret ones.
    public var value: String?
    public var version: Int64
    public var updatedAt: Timestamp
    /// Set when listed for a child scope that inherits it.
    public var inheritedBy: String?

    enum CodingKeys: String, CodingKey {
        case id, scope, name, secret, value, version
        case updatedAt = "updated_at", inheritedBy = "inherited_by"
    }
}

/// A scope and its parent.
public struct ScopeInfo: Codable, Sendable, Equatable {
    public var name: String
    public var parent: String?
    public var keys: Int
    public var config: Int
    public var createdAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case name, parent, keys, config, createdAt = "created_at"
    }
}

/// A keyslot, without its wrapped key.
public struct KeyslotInfo: Codable, Sendable, Equatable {
    public var id: Int64
    public var kind: String
    public var label: String
    /// Argon2id cost for passphrase slots (`ops=3 mem=256MiB`).
    public var kdf: String?
    public var createdAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case id, kind, label, kdf, createdAt = "created_at"
    }
}

/// A one-screen summary of a vault.
public struct VaultStatus: Codable, Sendable {
    public var path: String
    public var vaultId: String
    public var schema: [String]
    public var createdAt: Timestamp
    public var keyslots: Int
    public var scopes: Int
    public var keys: Int
    public var activeKeys: Int
    public var config: Int
    public var auditEvents: Int64
    /// Every key's gateway traffic in the last 24 hours; nil when none.
    public var gatewayTraffic24h: KeyTraffic? = nil
    /// The balances providers last reported for the active and standby keys; nil when none.
    public var balances: [KeyBalanceEntry]? = nil
    /// Live keys that expire within 7 days or have expired; nil when none.
    public var expiring: [ExpiringKey]? = nil
    /// Network incidents of the last 24 hours, newest first (at most 20); nil when none.
    public var networkIncidents: [NetworkIncident]? = nil

    enum CodingKeys: String, CodingKey {
        case path, vaultId = "vault_id", schema, createdAt = "created_at", keyslots, scopes, keys
        case activeKeys = "active_keys", config, auditEvents = "audit_events", gatewayTraffic24h = "gateway_traffic_24h"
        case balances
        case expiring, networkIncidents = "network_incidents"
    }
}

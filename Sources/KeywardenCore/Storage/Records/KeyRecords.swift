import Foundation

/// `keys`: a provider credential in a scope, sealed.
struct KeyRecord: Sendable, Equatable {
    var id: String
    var provider: String
    var scope: String
    var label: String
    var env: String
    var state: KeyState
    var version: Int64
    var nonce: Data
    var ciphertext: Data
    var hint: String
    var fingerprint: String
    var createdAt: Timestamp
    var updatedAt: Timestamp
    var activatedAt: Timestamp?
    /// The last check's outcome (validation or a client's report).
    var lastOutcome: ValidationOutcome?
    var lastCheckedAt: Timestamp?
    var lastDetail: String?
    /// When a retiring key's grace period ends.
    var retireAfter: Timestamp?
    /// `admin`: an admin or management key, never delivered unless asked
    /// (0011); nil: an ordinary key.
    var role: KeyRole? = nil
    /// The provider-side id of a key Keywarden created through an admin API
    /// (0011), so that it can be deleted there again.
    var providerKeyId: String? = nil
    /// The outcome that made the key `failed` (0009); nil otherwise, and for
    /// keys failed before 0009. See Recovery/KeyRecovery.swift.
    var failedBecause: ValidationOutcome? = nil
    /// How many recovery probes found the failed key still failing (0009).
    var probeAttempts: Int64? = nil
    /// When the next recovery probe is due (0009); nil: none is planned.
    var nextProbeAt: Timestamp? = nil
    /// When the key stops working (0009): `key add --expires`, or what the
    /// provider reports; nil: no known expiry.
    var expiresAt: Timestamp? = nil

    var pool: Pool { Pool(provider: provider, scope: scope) }
}

/// `config_entries`: any other named value in a scope, sealed.
struct ConfigEntryRecord: Sendable, Equatable {
    var id: String
    var scope: String
    var name: String
    var secret: Bool
    var version: Int64
    var nonce: Data
    var ciphertext: Data
    var createdAt: Timestamp
    var updatedAt: Timestamp
}

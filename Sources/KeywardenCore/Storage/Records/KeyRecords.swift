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

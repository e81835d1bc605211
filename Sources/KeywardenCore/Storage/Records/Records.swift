import Foundation
import GRDB

// One Codable record per table. Constraints live in the SQL migrations; these
// structs only carry rows in and out. Column names are the snake_case form of
// the property names.

/// A record whose columns are the snake_case form of its properties.
protocol SnakeCaseRecord: Codable, FetchableRecord, PersistableRecord {}

extension SnakeCaseRecord {
    static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

/// `vault`: the vault's identity and the head of the audit chain.
struct VaultHeaderRecord: SnakeCaseRecord {
    static let databaseTableName = "vault"
    var id: Int = 1
    var vaultId: String
    var createdAt: String
    var auditHeadSeq: Int64
    var auditHeadHash: String
    /// Set by migration 0004 until the first unlock computes the row MACs.
    var rowMacsPending = false
    /// The first event hashed in the v2 form (with `recorded_locked`).
    var auditV2FromSeq: Int64 = 1
}

/// `keyslots`: one wrapped copy of the master key.
struct KeyslotRecord: SnakeCaseRecord {
    static let databaseTableName = "keyslots"
    var id: Int64?
    var kind: String
    var label: String
    var kdfOps: Int64?
    var kdfMem: Int64?
    var salt: Data?
    var nonce: Data
    var wrappedKey: Data
    var createdAt: String
}

/// `scopes`
struct ScopeRecord: SnakeCaseRecord {
    static let databaseTableName = "scopes"
    var name: String
    var parent: String?
    var createdAt: String
}

/// `providers`: user-defined providers and overrides of built-ins.
struct ProviderRecord: SnakeCaseRecord {
    static let databaseTableName = "providers"
    var name: String
    var builtin: Bool
    var definition: String?
    var baseUrl: String?
    var env: String?
    var updatedAt: String
    /// Plain `http://` to a host that is not loopback was allowed (migration 0007).
    var allowInsecureHttp = false
}

/// `keys`: a provider credential in a scope, sealed.
struct KeyRecord: SnakeCaseRecord {
    static let databaseTableName = "keys"
    var id: String
    var provider: String
    var scope: String
    var label: String
    var env: String
    var state: String
    var version: Int64
    var nonce: Data
    var ciphertext: Data
    var hint: String
    var fingerprint: String
    var createdAt: String
    var updatedAt: String
    var activatedAt: String?
    var lastOutcome: String?
    var lastCheckedAt: String?
    var lastDetail: String?
    var retireAfter: String?
}

/// `config_entries`: any other named value in a scope, sealed.
struct ConfigEntryRecord: SnakeCaseRecord {
    static let databaseTableName = "config_entries"
    var id: String
    var scope: String
    var name: String
    var secret: Bool
    var version: Int64
    var nonce: Data
    var ciphertext: Data
    var createdAt: String
    var updatedAt: String
}

/// `audit_events`: append-only, hash-chained.
struct AuditEventRecord: SnakeCaseRecord {
    static let databaseTableName = "audit_events"
    var seq: Int64
    var at: String
    var actorUid: Int64
    var actorPid: Int64
    var actor: String
    var action: String
    var provider: String?
    var scope: String?
    var keyId: String?
    var fingerprint: String?
    var outcome: String
    var detail: String?
    var hash: String?
    /// Recorded while the vault was locked: chained, but nobody with the key vouched for it.
    var recordedLocked = false
}

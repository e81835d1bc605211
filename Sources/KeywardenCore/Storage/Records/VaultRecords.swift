import Foundation

// One typed record per table: states and outcomes are enums, times are
// `Timestamp`s, JSON columns are Codable values. Constraints live in the SQL
// migrations; these structs only carry rows in and out. A stored value that
// does not decode into its type is an integrity error naming the row and the
// column, never a default. How a record maps to a backend's rows lives with
// that backend (Storage/SQLite/SQLiteRecords.swift).

/// `vault`: the vault's identity and the head of the audit chain (one row).
struct VaultHeaderRecord: Sendable, Equatable {
    var vaultId: String
    var createdAt: Timestamp
    var auditHeadSeq: Int64
    var auditHeadHash: String
    /// Set by migration 0004 until the first unlock computes the row MACs.
    var rowMacsPending = false
    /// The first event hashed in the v2 form (with `recorded_locked`).
    var auditV2FromSeq: Int64 = 1
}

/// How a keyslot's key-encryption key is obtained (`keyslots.kind`).
enum KeyslotKind: String, Sendable, CaseIterable {
    case passphrase, keyfile
}

/// `keyslots`: one wrapped copy of the master key.
struct KeyslotRecord: Sendable, Equatable {
    /// Assigned by the database on insert.
    var id: Int64?
    var kind: KeyslotKind
    var label: String
    var kdfOps: Int64?
    var kdfMem: Int64?
    var salt: Data?
    var nonce: Data
    var wrappedKey: Data
    var createdAt: Timestamp
}

/// `scopes`
struct ScopeRecord: Sendable, Equatable {
    var name: String
    var parent: String?
    var createdAt: Timestamp
}

/// `providers`: user-defined providers and overrides of built-ins.
struct ProviderRecord: Sendable, Equatable {
    var name: String
    var builtin: Bool
    /// A custom provider's whole definition (a JSON column).
    var definition: ProviderDefinition?
    var baseUrl: String?
    var env: String?
    var updatedAt: Timestamp
    /// Plain `http://` to a host that is not loopback was allowed (migration 0007).
    var allowInsecureHttp = false
}

/// How many rows a vault holds, counted without reading them (`status`).
struct VaultCounts: Sendable, Equatable {
    var keyslots: Int
    var scopes: Int
    var keys: Int
    var activeKeys: Int
    var configEntries: Int
    var auditEvents: Int64
}

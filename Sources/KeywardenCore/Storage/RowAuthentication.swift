import Foundation
import GRDB
import KeywardenCrypto

// Row MACs. Only values are sealed, but many plain columns decide where a key
// goes or what runs: a provider's base URL, a rotation policy's commands, a
// key's state, a token's grant. Each such row carries a keyed BLAKE2b MAC
// (`crypto_generichash` under the `.rowAuthentication` subkey) over the vault
// id, the table, and the columns listed below, so that someone who can write
// the file but has no key cannot change them unnoticed.
//
// The MAC is set and checked where rows cross GRDB, not at each call site:
// the records of these tables decode through `checkFetched` (a row whose MAC
// does not match throws an integrity error before any code sees it) and
// encode through `authenticatedContainer` (every insert, update or save writes
// the MAC of exactly the values written). Both need the vault's key, which
// `Vault.read` and `Vault.write` bind for the duration of the transaction;
// outside them these records cannot be read or written at all.
//
// Adding a column to one of these tables: add it to its list here. A nullable
// column whose value is NULL is left out of the MAC input, so existing rows
// keep their MACs; a column with a non-NULL default needs its rows' MACs
// recomputed in the same release (see `Vault.upgradeRowMACs`).

/// The canonical column lists of every authenticated table, in MAC order.
enum RowAuthentication {
    /// One authenticated table.
    struct Table: Sendable {
        /// The SQL table name.
        var name: String
        /// The columns that identify a row; bound first, so a MAC copied to
        /// another row does not match.
        var key: [String]
        /// Every other column the MAC covers.
        var fields: [String]
    }

    /// Domain separation for the MAC input; bump on any change of encoding.
    static let version = "keywarden/row/v1"

    static let vault = Table(name: "vault", key: ["id"], fields: [
        "vault_id", "created_at", "audit_head_seq", "audit_head_hash", "row_macs_pending", "audit_v2_from_seq",
    ])
    // Keyed by label (unique), not by the AUTOINCREMENT id, which is not
    // known when the row's MAC is computed for its insert.
    static let keyslots = Table(name: "keyslots", key: ["label"], fields: [
        "kind", "kdf_ops", "kdf_mem", "salt", "nonce", "wrapped_key", "created_at",
    ])
    static let scopes = Table(name: "scopes", key: ["name"], fields: ["parent", "created_at"])
    static let providers = Table(name: "providers", key: ["name"], fields: [
        "builtin", "definition", "base_url", "env", "updated_at", "allow_insecure_http",
    ])
    // Not covered: last_outcome, last_checked_at, last_detail — observations
    // written by every validation with a plain UPDATE; they decide nothing
    // about where a key goes.
    static let keys = Table(name: "keys", key: ["id"], fields: [
        "provider", "scope", "label", "env", "state", "version", "nonce", "ciphertext", "hint", "fingerprint",
        "created_at", "updated_at", "activated_at", "retire_after",
    ])
    static let configEntries = Table(name: "config_entries", key: ["id"], fields: [
        "scope", "name", "secret", "version", "nonce", "ciphertext", "created_at", "updated_at",
    ])
    // Not covered: last_used_at, an observation.
    static let agentTokens = Table(name: "agent_tokens", key: ["id"], fields: [
        "name", "hash", "scopes", "providers", "config", "created_at", "expires_at", "revoked_at",
    ])
    static let rotationPolicies = Table(name: "rotation_policies", key: ["provider", "scope"], fields: [
        "every_seconds", "grace_seconds", "command", "revoke_command", "command_timeout_seconds", "revoke_timeout_seconds",
        "failover", "updated_at",
    ])
    static let exportedFiles = Table(name: "exported_files", key: ["path"], fields: ["scope", "format", "only", "updated_at"])

    /// Every authenticated table.
    static let all: [Table] = [vault, keyslots, scopes, providers, keys, configEntries, agentTokens, rotationPolicies, exportedFiles]

    static func table(_ name: String) -> Table {
        guard let table = all.first(where: { $0.name == name }) else {
            preconditionFailure("\(name) is not an authenticated table")
        }
        return table
    }

    /// How a row is named in an integrity error.
    static func describe(_ table: Table, _ value: (String) -> String?) -> String {
        func v(_ column: String) -> String { value(column) ?? "?" }
        switch table.name {
        case "vault": return "the vault header"
        case "keyslots": return "keyslot '\(v("label"))'"
        case "scopes": return "scope '\(v("name"))'"
        case "providers": return "provider '\(v("name"))'"
        case "keys": return "key \(v("id")) (\(v("provider"))/\(v("scope")))"
        case "config_entries": return "config entry \(v("name")) in scope \(v("scope")) (\(v("id")))"
        case "agent_tokens": return "token '\(v("name"))' (\(v("id")))"
        case "rotation_policies": return "the rotation policy of \(v("provider"))/\(v("scope"))"
        case "exported_files": return "the exported file \(v("path"))"
        default: return "a row of \(table.name)"
        }
    }

    /// The integrity error for a row whose MAC is missing or wrong.
    static func tampered(_ row: String, missing: Bool) -> KeywardenError {
        KeywardenError(.integrity, "\(row) was changed outside Keywarden (\(missing ? "it has no MAC" : "its MAC does not match")); nothing acted on it. Restore the vault from a backup")
    }

    /// The canonical text of one stored value: a type tag and the value, so
    /// that the integer 1 and the text "1" differ. NULL is nil (left out).
    static func canonical(_ value: DatabaseValue) -> String? {
        switch value.storage {
        case .null: nil
        case .int64(let i): "i" + String(i)
        case .double(let d): "r" + String(d)
        case .string(let s): "t" + s
        case .blob(let data): "b" + Array(data).hexString
        }
    }

    /// The bytes the MAC is computed over. Columns whose value is NULL are
    /// left out, named pairs keep the encoding unambiguous. A column the row
    /// does not have counts as NULL: dropping a column changes the MAC input
    /// exactly as setting it NULL would, which is detected unless it was
    /// NULL; and a column listed here before its migration lands costs nothing.
    static func macInput(_ table: Table, vaultID: String, _ value: (String) throws -> DatabaseValue) rethrows -> [UInt8] {
        var fields = BoundFields([version, vaultID, table.name])
        for column in table.key + table.fields {
            guard let text = canonical(try value(column)) else { continue }
            fields.append(column)
            fields.append(text)
        }
        return fields.bytes
    }

    /// Checks a fetched row of `tableName` against the authenticator bound to
    /// this transaction; throws an integrity error naming the row.
    static func checkFetched(_ row: Row, table tableName: String) throws {
        let table = table(tableName)
        guard let authenticator = RowAuthenticator.current else {
            throw KeywardenError(.failed, "internal error: a \(table.name) row was read outside a vault transaction, so its MAC could not be checked")
        }
        try authenticator.check(row, table)
    }

    /// Encodes `record` with the GRDB `Encodable` encoding, plus its MAC.
    static func authenticatedContainer<R: EncodableRecord & TableRecord & Encodable>(_ record: R, _ container: inout PersistenceContainer) throws {
        try PlainEncoding(record: record).encode(to: &container)
        let table = table(R.databaseTableName)
        guard let authenticator = RowAuthenticator.current, let key = authenticator.key else {
            throw KeywardenError(.failed, "internal error: a \(table.name) row was written outside an unlocked vault transaction, so it could not get its MAC")
        }
        let written = container
        let input = macInput(table, vaultID: authenticator.vaultID) { column in written[column]?.databaseValue ?? .null }
        container["mac"] = Data(try RowAuthenticator.mac(input, key: key))
    }
}

/// The key and vault id that row MACs are computed with, bound (as a task
/// local, which also works on the plain threads GRDB runs transactions on)
/// for the duration of one `Vault.read` or `Vault.write`.
struct RowAuthenticator: Sendable {
    enum Mode: Sendable {
        /// Every fetched row must carry a matching MAC.
        case verify
        /// Rows are read as stored: only while the first unlock after
        /// migration 0004 computes MACs for rows that never had one.
        case upgrade
        /// Before the master key is known (unlock reads the header and the
        /// keyslots); `Vault.checkStoredIntegrity` verifies them right after.
        case beforeUnlock
    }

    /// The `.rowAuthentication` subkey; nil before unlock.
    var key: SymmetricKey?
    var vaultID: String
    var mode: Mode

    @TaskLocal static var current: RowAuthenticator?

    static func mac(_ input: [UInt8], key: SymmetricKey) throws -> [UInt8] {
        do {
            return try KeyedHash.hash([input], key: key)
        } catch {
            throw KeywardenError(.failed, "cannot compute a row MAC: \(error)")
        }
    }

    /// The MAC a row should carry, from its stored values.
    func expectedMAC(_ row: Row, _ table: RowAuthentication.Table) throws -> [UInt8] {
        guard let key else { throw KeywardenError(.failed, "internal error: row MAC needed before unlock") }
        let input = RowAuthentication.macInput(table, vaultID: vaultID) { column in
            row.hasColumn(column) ? row[column] as DatabaseValue : .null
        }
        return try Self.mac(input, key: key)
    }

    func check(_ row: Row, _ table: RowAuthentication.Table) throws {
        switch mode {
        case .upgrade:
            return
        case .beforeUnlock:
            guard table.name == RowAuthentication.vault.name || table.name == RowAuthentication.keyslots.name else {
                throw KeywardenError(.failed, "internal error: a \(table.name) row was read before unlock")
            }
            return
        case .verify:
            let stored: Data? = row["mac"]
            let describe = { RowAuthentication.describe(table) { column in row.hasColumn(column) ? RowAuthentication.canonical(row[column]).map { String($0.dropFirst()) } : nil } }
            guard let stored else { throw RowAuthentication.tampered(describe(), missing: true) }
            guard constantTimeEquals(try expectedMAC(row, table), Array(stored)) else {
                throw RowAuthentication.tampered(describe(), missing: false)
            }
        }
    }
}

/// A record encoded with GRDB's `Encodable` support, without the MAC override
/// (which could not otherwise call the default it replaces).
private struct PlainEncoding<R: EncodableRecord & Encodable>: EncodableRecord, Encodable {
    var record: R
    static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { R.databaseColumnEncodingStrategy }
    func encode(to encoder: any Encoder) throws { try record.encode(to: encoder) }
}

// The records of authenticated tables: decoded only after their MAC checks
// out, encoded with a fresh MAC.

extension VaultHeaderRecord {
    init(row: Row) throws {
        try RowAuthentication.checkFetched(row, table: Self.databaseTableName)
        self = try FetchableRecordDecoder().decode(Self.self, from: row)
    }
    func encode(to container: inout PersistenceContainer) throws { try RowAuthentication.authenticatedContainer(self, &container) }
}

extension KeyslotRecord {
    init(row: Row) throws {
        try RowAuthentication.checkFetched(row, table: Self.databaseTableName)
        self = try FetchableRecordDecoder().decode(Self.self, from: row)
    }
    func encode(to container: inout PersistenceContainer) throws { try RowAuthentication.authenticatedContainer(self, &container) }
}

extension ScopeRecord {
    init(row: Row) throws {
        try RowAuthentication.checkFetched(row, table: Self.databaseTableName)
        self = try FetchableRecordDecoder().decode(Self.self, from: row)
    }
    func encode(to container: inout PersistenceContainer) throws { try RowAuthentication.authenticatedContainer(self, &container) }
}

extension ProviderRecord {
    init(row: Row) throws {
        try RowAuthentication.checkFetched(row, table: Self.databaseTableName)
        self = try FetchableRecordDecoder().decode(Self.self, from: row)
    }
    func encode(to container: inout PersistenceContainer) throws { try RowAuthentication.authenticatedContainer(self, &container) }
}

extension KeyRecord {
    init(row: Row) throws {
        try RowAuthentication.checkFetched(row, table: Self.databaseTableName)
        self = try FetchableRecordDecoder().decode(Self.self, from: row)
    }
    func encode(to container: inout PersistenceContainer) throws { try RowAuthentication.authenticatedContainer(self, &container) }
}

extension ConfigEntryRecord {
    init(row: Row) throws {
        try RowAuthentication.checkFetched(row, table: Self.databaseTableName)
        self = try FetchableRecordDecoder().decode(Self.self, from: row)
    }
    func encode(to container: inout PersistenceContainer) throws { try RowAuthentication.authenticatedContainer(self, &container) }
}

extension AgentTokenRecord {
    init(row: Row) throws {
        try RowAuthentication.checkFetched(row, table: Self.databaseTableName)
        self = try FetchableRecordDecoder().decode(Self.self, from: row)
    }
    func encode(to container: inout PersistenceContainer) throws { try RowAuthentication.authenticatedContainer(self, &container) }
}

extension RotationPolicyRecord {
    init(row: Row) throws {
        try RowAuthentication.checkFetched(row, table: Self.databaseTableName)
        self = try FetchableRecordDecoder().decode(Self.self, from: row)
    }
    func encode(to container: inout PersistenceContainer) throws { try RowAuthentication.authenticatedContainer(self, &container) }
}

extension ExportedFileRecord {
    init(row: Row) throws {
        try RowAuthentication.checkFetched(row, table: Self.databaseTableName)
        self = try FetchableRecordDecoder().decode(Self.self, from: row)
    }
    func encode(to container: inout PersistenceContainer) throws { try RowAuthentication.authenticatedContainer(self, &container) }
}

// MARK: - Unlock-time checks and the one-time upgrade

extension Vault {
    /// Checks, right after unlock, what was read before the key was known
    /// (the header and the keyslots), and computes the MACs of a vault
    /// migrated from v0.1 the first time it is unlocked.
    func checkStoredIntegrity() throws(KeywardenError) {
        let (headerMAC, pending): (Data?, Bool) = try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT mac, row_macs_pending FROM vault") else {
                throw KeywardenError(.integrity, "the vault header is missing; restore the vault from a backup")
            }
            return (row["mac"], row["row_macs_pending"])
        }
        if headerMAC == nil, pending {
            try upgradeRowMACs()
            return
        }
        try read { db in
            // Decoding verifies each row's MAC.
            _ = try VaultHeaderRecord.fetchOne(db)
            _ = try KeyslotRecord.fetchAll(db)
        }
    }

    /// Computes a MAC for every row of every authenticated table, once: on
    /// the first unlock after migration 0004 set `row_macs_pending` on a
    /// v0.1 vault. Once written, the flag is covered by the header's MAC; an
    /// attacker who strips the header's MAC and sets the flag again must also
    /// make the vault look exactly as migration 0004 leaves a v0.1 vault, or
    /// the upgrade is refused (integrity, exit 4) and nothing is vouched for:
    /// - no valid anchor for this vault on this machine (written only after
    ///   an unlock of this version);
    /// - the chain holds at least one sealed event, and every sealed event is
    ///   before `audit_v2_from_seq`, hashed in the v1 form, contiguous from #1
    ///   and ending exactly at the header's head, which is `audit_v2_from_seq - 1`.
    ///   Every write by this version appends a v2 event at or after
    ///   `audit_v2_from_seq` (a vault created by this version has it at 1, so
    ///   *all* its events are v2), and nobody without the key can hash a
    ///   v1 event, so a vault created or already upgraded by this version
    ///   fails this unless all its v2 events are cut off and the head rewound
    ///   — which only an upgraded v0.1 vault survives, and which is then the
    ///   same as restoring its pre-upgrade backup (see notes, "Upgrading a
    ///   v0.1 vault").
    /// Unsealed events (failed unlocks since the migration) may follow; they
    /// are chained as recorded-locked, as always.
    func upgradeRowMACs() throws(KeywardenError) {
        let refused = RowAuthentication.tampered("the vault header", missing: true)
        if AuditAnchor.anchoredHead(directory: context.anchorDirectory, vaultID: vaultID, key: rowKey) != nil {
            throw refused
        }
        var count = 0
        try write(mode: .upgrade) { db in
            guard let header = try VaultHeaderRecord.fetchOne(db),
                  header.rowMacsPending, header.auditV2FromSeq >= 2, header.auditHeadSeq == header.auditV2FromSeq - 1 else {
                throw refused
            }
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_events WHERE hash IS NOT NULL AND (seq >= ? OR action = 'vault.upgrade')",
                                arguments: [header.auditV2FromSeq]) ?? 0 > 0 {
                throw refused
            }
            var previous = AuditTrail.genesisHash
            var expectedSeq: Int64 = 1
            for record in try AuditEventRecord.filter(Column("hash") != nil).order(Column("seq")).fetchAll(db) {
                guard record.seq == expectedSeq, let hash = record.hash,
                      // v2From beyond every event: the v1 form only.
                      constantTimeEquals(Array(try chainHash(previous: previous, record, v2From: .max).utf8), Array(hash.utf8)) else {
                    throw refused
                }
                previous = hash
                expectedSeq += 1
            }
            guard expectedSeq - 1 == header.auditHeadSeq, constantTimeEquals(Array(previous.utf8), Array(header.auditHeadHash.utf8)) else {
                throw refused
            }
            // No unsealed event may sit before the head (they are only ever appended after it).
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_events WHERE hash IS NULL AND seq <= ?", arguments: [header.auditHeadSeq]) ?? 0 > 0 {
                throw refused
            }
            try db.execute(sql: "UPDATE vault SET row_macs_pending = 0")
            for table in RowAuthentication.all {
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM \(table.name)")
                for row in rows {
                    let mac = try RowAuthenticator(key: rowKey, vaultID: vaultID, mode: .verify).expectedMAC(row, table)
                    let keyColumns = table.key.map { "\($0) = ?" }.joined(separator: " AND ")
                    var arguments: StatementArguments = [Data(mac)]
                    for column in table.key { _ = arguments.append(contentsOf: [row[column] as DatabaseValue]) }
                    try db.execute(sql: "UPDATE \(table.name) SET mac = ? WHERE \(keyColumns)", arguments: arguments)
                    if table.name != RowAuthentication.vault.name { count += 1 }
                }
            }
            try appendAudit(AuditDraft(action: "vault.upgrade", outcome: "ok", detail: "row MACs added to \(count) rows (schema 0004)"), db)
        }
        context.logger.notice("vault upgraded: row MACs added", metadata: ["rows": "\(count)"])
    }
}

import KeywardenCrypto

// Row MACs. Only values are sealed, but many plain columns decide where a key
// goes or what runs: a provider's base URL, a rotation policy's commands, a
// key's state, a token's grant. Each such row carries a keyed BLAKE2b MAC
// (`crypto_generichash` under the `.rowAuthentication` subkey) over the vault
// id, the table, and the columns listed below, so that someone who can write
// the file but has no key cannot change them unnoticed.
//
// The MAC is set and checked where rows cross the storage backend, not at
// each call site: a fetched row of these tables is checked before it is
// decoded (a row whose MAC does not match throws an integrity error before
// any code sees it), and every insert or update writes the MAC of exactly
// the values written (Storage/SQLite/SQLiteRowMACs.swift). Both need the
// vault's key, which `Vault.read` and `Vault.write` hand to the store for the
// duration of the transaction; outside them these rows cannot be read or
// written at all. The MAC input is computed from `StoredValue`s, so every
// backend computes the same MACs and a copied vault keeps them.
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
        // 0011: NULL for every earlier row, so their MACs are unchanged.
        "role", "provider_key_id",
        // 0009: a failed key's cause and recovery backoff, and its expiry.
        "failed_because", "probe_attempts", "next_probe_at", "expires_at",
    ])
    static let configEntries = Table(name: "config_entries", key: ["id"], fields: [
        "scope", "name", "secret", "version", "nonce", "ciphertext", "created_at", "updated_at",
    ])
    // Not covered: last_used_at, an observation.
    static let agentTokens = Table(name: "agent_tokens", key: ["id"], fields: [
        "name", "hash", "scopes", "providers", "config", "created_at", "expires_at", "revoked_at",
    ])
    // `spread` (0008) decides which keys serve the gateway; NULL (the active
    // key alone, every row written before 0008) is left out of the input.
    static let rotationPolicies = Table(name: "rotation_policies", key: ["provider", "scope"], fields: [
        "every_seconds", "grace_seconds", "command", "revoke_command", "command_timeout_seconds", "revoke_timeout_seconds",
        "failover", "updated_at", "spread",
        // 0011: which built-in rotator runs and with which admin key.
        "via", "admin_key", "project",
    ])
    static let exportedFiles = Table(name: "exported_files", key: ["path"], fields: ["scope", "format", "only", "updated_at"])
    // Not authenticated: `key_traffic` (0008), the gateway's hourly counts
    // per key. Like `last_outcome` they are observations; they decide nothing
    // about where a key goes or what runs. Nor `key_headroom` (0010), each
    // key's last reported balance and rate-limit headroom, for the same reason.

    /// Every authenticated table.
    static let all: [Table] = [vault, keyslots, scopes, providers, keys, configEntries, agentTokens, rotationPolicies, exportedFiles]

    /// The integrity error for a row whose MAC is missing or wrong.
    static func tampered(_ row: String, missing: Bool) -> KeywardenError {
        KeywardenError(.integrity, "\(row) was changed outside Keywarden (\(missing ? "it has no MAC" : "its MAC does not match")); nothing acted on it. Restore the vault from a backup")
    }

    /// The canonical text of one stored value: a type tag and the value, so
    /// that the integer 1 and the text "1" differ. NULL is nil (left out).
    static func canonical(_ value: StoredValue) -> String? {
        switch value {
        case .null: nil
        case .integer(let i): "i" + String(i)
        case .real(let d): "r" + String(d)
        case .text(let s): "t" + s
        case .blob(let bytes): "b" + bytes.hexString
        }
    }

    /// The bytes the MAC is computed over. Columns whose value is NULL are
    /// left out, named pairs keep the encoding unambiguous. A column the row
    /// does not have counts as NULL: dropping a column changes the MAC input
    /// exactly as setting it NULL would, which is detected unless it was
    /// NULL; and a column listed here before its migration lands costs nothing.
    static func macInput(_ table: Table, vaultID: String, _ value: (String) throws -> StoredValue) rethrows -> [UInt8] {
        var fields = BoundFields([version, vaultID, table.name])
        for column in table.key + table.fields {
            guard let text = canonical(try value(column)) else { continue }
            fields.append(column)
            fields.append(text)
        }
        return fields.bytes
    }
}

/// The key and vault id that row MACs are computed with, and how strictly
/// fetched rows are checked: handed to the store for the duration of one
/// `Vault.read` or `Vault.write`.
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

    /// Before unlock: only the header and the keyslots can be read, unchecked.
    static let beforeUnlock = RowAuthenticator(key: nil, vaultID: "", mode: .beforeUnlock)

    static func mac(_ input: [UInt8], key: SymmetricKey) throws(KeywardenError) -> [UInt8] {
        do {
            return try KeyedHash.hash([input], key: key)
        } catch {
            throw KeywardenError(.failed, "cannot compute a row MAC: \(error)")
        }
    }

    /// The MAC a row of `table` should carry, from its stored values.
    func expectedMAC(_ table: RowAuthentication.Table, _ value: (String) -> StoredValue) throws(KeywardenError) -> [UInt8] {
        guard let key else { throw KeywardenError(.failed, "internal error: row MAC needed before unlock") }
        return try Self.mac(RowAuthentication.macInput(table, vaultID: vaultID, value), key: key)
    }

    /// Checks a fetched row of `table` (its `mac` column and its values)
    /// before anything decodes it; throws an integrity error naming the row.
    func check(_ table: RowAuthentication.Table, storedMAC: [UInt8]?, _ value: (String) -> StoredValue) throws(KeywardenError) {
        switch mode {
        case .upgrade:
            return
        case .beforeUnlock:
            guard table.name == RowAuthentication.vault.name || table.name == RowAuthentication.keyslots.name else {
                throw KeywardenError(.failed, "internal error: a \(table.name) row was read before unlock")
            }
            return
        case .verify:
            // The row's name only for the error: building it for every row
            // read was a tenth of the cost of reading a key.
            guard let storedMAC else { throw RowAuthentication.tampered(StoredRows.name(table.name) { value($0).text }, missing: true) }
            guard constantTimeEquals(try expectedMAC(table, value), storedMAC) else {
                throw RowAuthentication.tampered(StoredRows.name(table.name) { value($0).text }, missing: false)
            }
        }
    }

    /// The MAC to write with a row of `table` holding `value`s.
    func macForWrite(_ table: RowAuthentication.Table, _ value: (String) -> StoredValue) throws(KeywardenError) -> [UInt8] {
        guard key != nil else {
            throw KeywardenError(.failed, "internal error: a \(table.name) row was written outside an unlocked vault transaction, so it could not get its MAC")
        }
        return try expectedMAC(table, value)
    }
}

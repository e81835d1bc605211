import KeywardenCrypto

/// A column's value as a backend stores it. What must not depend on the
/// backend is computed from it: row MACs (RowAuthentication) and the names
/// of rows in error messages. Each backend converts its own values (SQLite:
/// `DatabaseValue`) to this.
enum StoredValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The value as text, for naming a row (`key k_ab12 (anthropic/prod)`).
    var text: String? {
        switch self {
        case .null: nil
        case .integer(let i): String(i)
        case .real(let d): String(d)
        case .text(let s): s
        case .blob(let bytes): bytes.hexString
        }
    }

    /// How the value is quoted in an error: short, without terminal controls.
    var shown: String {
        switch self {
        case .null: "NULL"
        case .integer(let i): "the number \(i)"
        case .real(let d): "the number \(d)"
        case .text(let s): "'\(DisplayText.sanitized(String(s.prefix(60))))\(s.count > 60 ? "…" : "")'"
        case .blob(let bytes): "a blob of \(bytes.count) bytes"
        }
    }
}

/// How rows are named in integrity errors, and the error for a stored value
/// the code does not understand. A value that does not decode is never
/// replaced by a default (`failed`, the epoch, an empty grant): whatever
/// acted on it would act on something the vault does not say.
enum StoredRows {
    /// The name of a row of `table`, from its stored values (`value` gives a
    /// column's text, nil when NULL or absent).
    static func name(_ table: String, _ value: (String) -> String?) -> String {
        func v(_ column: String) -> String { value(column).map { DisplayText.sanitized(String($0.prefix(200))) } ?? "?" }
        switch table {
        case "vault": return "the vault header"
        case "keyslots": return "keyslot '\(v("label"))'"
        case "scopes": return "scope '\(v("name"))'"
        case "providers": return "provider '\(v("name"))'"
        case "keys": return "key \(v("id")) (\(v("provider"))/\(v("scope")))"
        case "config_entries": return "config entry \(v("name")) in scope \(v("scope")) (\(v("id")))"
        case "agent_tokens": return "token '\(v("name"))' (\(v("id")))"
        case "rotation_policies": return "the rotation policy of \(v("provider"))/\(v("scope"))"
        case "exported_files": return "the exported file \(v("path"))"
        case "rotations": return "rotation \(v("id")) (\(v("provider"))/\(v("scope")))"
        case "audit_events": return "audit event #\(v("seq"))"
        default: return "a row of \(table)"
        }
    }

    /// The integrity error for a value of `column` in `row` that this version
    /// cannot read (an unknown state, a garbled time, unreadable JSON).
    static func unreadable(_ row: String, column: String, value: StoredValue, expected: String) -> KeywardenError {
        KeywardenError(.integrity, "\(row) holds \(value.shown) in its \(column) column, which is not \(expected); nothing acted on it. The vault was changed outside Keywarden or by a newer version: restore it from a backup, or upgrade keywarden")
    }
}

extension Timestamp {
    /// Parses a stored time exactly: the fixed-width form `iso8601` writes
    /// (`2026-11-21T19:45:01.123Z`), or the same without milliseconds; not
    /// text that parses only after normalisation (month 13, no `T`).
    init?(stored text: String) {
        guard let value = Timestamp(iso8601: text) else { return nil }
        let canonical = value.iso8601
        guard canonical == text || (text.utf8.count == 20 && canonical == String(text.dropLast()) + ".000Z") else { return nil }
        self = value
    }
}

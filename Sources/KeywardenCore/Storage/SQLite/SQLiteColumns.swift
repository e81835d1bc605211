import Foundation
import GRDB

// How typed values sit in SQLite columns. Enums are stored as their raw
// text, times as the fixed-width text of `Timestamp.iso8601` (so SQL compares
// them as text, exactly as before these types existed), JSON columns as
// text. A value that does not convert back is an integrity error naming the
// row and the column (`StoredRowReader`), never a default.

extension Timestamp: DatabaseValueConvertible {
    /// The fixed-width text of `iso8601`.
    public var databaseValue: DatabaseValue { iso8601.databaseValue }

    /// Only text in the stored form (`Timestamp(stored:)`); not a number, not a blob.
    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Timestamp? {
        guard case .string(let text) = dbValue.storage else { return nil }
        return Timestamp(stored: text)
    }
}

extension KeyState: DatabaseValueConvertible {}
extension ValidationOutcome: DatabaseValueConvertible {}
extension ExportFormat: DatabaseValueConvertible {}
extension KeyslotKind: DatabaseValueConvertible {}
extension RotationTrigger: DatabaseValueConvertible {}
extension RotationStage: DatabaseValueConvertible {}
extension GatewaySpread: DatabaseValueConvertible {}
extension KeyRole: DatabaseValueConvertible {}
extension ProviderRotatorKind: DatabaseValueConvertible {}

extension StoredValue {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let i): self = .integer(i)
        case .double(let d): self = .real(d)
        case .string(let s): self = .text(s)
        case .blob(let data): self = .blob(Array(data))
        }
    }
}

/// Reads the columns of one fetched row as typed values. A value that does
/// not convert is an integrity error naming the row (`key k_ab12
/// (anthropic/prod)`) and the column, with the value quoted short.
struct StoredRowReader {
    let row: Row
    let table: String

    /// Reads a row of `table`, after checking its MAC when `table` is
    /// authenticated (with the authenticator the store bound).
    init(_ row: Row, table: String) {
        self.row = row
        self.table = table
    }

    init(authenticated row: Row, _ table: RowAuthentication.Table) throws {
        try SQLiteRowMACs.check(row, table)
        self.init(row, table: table.name)
    }

    func stored(_ column: String) -> DatabaseValue {
        row.hasColumn(column) ? row[column] as DatabaseValue : .null
    }

    var name: String {
        StoredRows.name(table) { StoredValue(stored($0)).text }
    }

    func unreadable(_ column: String, expected: String) -> KeywardenError {
        StoredRows.unreadable(name, column: column, value: StoredValue(stored(column)), expected: expected)
    }

    /// The column as `T` (an optional `T` reads NULL as nil).
    subscript<T: DatabaseValueConvertible>(_ column: String) -> T {
        get throws {
            guard let value = T.fromDatabaseValue(stored(column)) else {
                throw unreadable(column, expected: Self.expected(T.self))
            }
            return value
        }
    }

    /// A JSON text column as `T`.
    func json<T: Decodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard case .string(let text) = stored(column).storage,
              let value = try? JSONDecoder().decode(T.self, from: Data(text.utf8)) else {
            throw unreadable(column, expected: "JSON for \(Self.typeName(T.self))")
        }
        return value
    }

    /// A nullable JSON text column as `T`.
    func optionalJSON<T: Decodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        stored(column).isNull ? nil : try json(column, as: T.self)
    }

    /// A time that must be stored exactly as `Timestamp.iso8601` writes it
    /// (it is hashed as stored).
    func exactTimestamp(_ column: String) throws -> Timestamp {
        let time: Timestamp = try self[column]
        guard case .string(let text) = stored(column).storage, text == time.iso8601 else {
            throw unreadable(column, expected: "a time in the form 2026-01-31T12:00:00.000Z")
        }
        return time
    }

    /// What a column of `T` holds, for the error message.
    static func expected(_ type: Any.Type) -> String {
        switch type {
        case is Timestamp.Type, is Timestamp?.Type: "a time in the form 2026-01-31T12:00:00.000Z"
        case is KeyState.Type: "a key state (\(KeyState.allCases.map(\.rawValue).joined(separator: ", ")))"
        case is ValidationOutcome?.Type, is ValidationOutcome.Type:
            "a validation outcome (\(ValidationOutcome.allCases.map(\.rawValue).joined(separator: ", ")))"
        case is KeyslotKind.Type: "a keyslot kind (\(KeyslotKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        case is RotationTrigger.Type: "a rotation trigger (\(RotationTrigger.allCases.map(\.rawValue).joined(separator: ", ")))"
        case is RotationStage.Type: "a rotation step (\(RotationStage.allCases.map(\.rawValue).joined(separator: ", ")))"
        case is ExportFormat.Type: "an export format (\(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")))"
        case is GatewaySpread?.Type: "a spread (\(GatewaySpread.allCases.map(\.rawValue).joined(separator: ", ")))"
        default: typeName(type)
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "text"
        case is String?.Type: "text or NULL"
        case is Int64.Type, is Int.Type: "an integer"
        case is Int64?.Type: "an integer or NULL"
        case is Bool.Type: "0 or 1"
        case is Data.Type: "a blob"
        case is Data?.Type: "a blob or NULL"
        case is [String].Type: "a list of names"
        case is ProviderDefinition.Type: "a provider definition"
        default: "a \(type)"
        }
    }
}

extension PersistenceContainer {
    /// A JSON text column, encoded as before these records were typed, so
    /// that rows written now read back byte for byte as older ones did.
    mutating func setJSON<T: Encodable>(_ column: String, _ value: T?, encoder: JSONEncoder) throws {
        self[column] = try value.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
    }
}

import Foundation
import GRDB
import NIOCore
import NIOFoundationCompat
import PostgresNIO

/// Statements on one checked-out connection, awaited on the calling thread.
/// Rows come back as GRDB `Row`s holding the same `DatabaseValue`s SQLite
/// would (integers, text, blobs), so the records' one mapping
/// (SQLiteRecords.swift) and its row-MAC checks serve both backends.
struct PostgresSession {
    let connection: PostgresConnection

    /// Runs one statement with `$1…$n` arguments and returns its rows.
    @discardableResult
    func rows(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws -> [Row] {
        try query(sql, arguments).rows.map(Self.row)
    }

    /// Runs one statement and returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws -> Int {
        try query(sql, arguments).metadata.rows ?? 0
    }

    /// Binds each argument as the type of its SQLite storage class (NULL,
    /// bigint, double, text, bytea) and waits for the whole result.
    private func query(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?]) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch (argument?.databaseValue ?? .null).storage {
            case .null: binds.appendNull()
            case .int64(let value): binds.append(value)
            case .double(let value): binds.append(value)
            case .string(let value): binds.append(value)
            case .blob(let data): binds.append(ByteBuffer(bytes: data))
            }
        }
        return try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: PostgresConnections.logger).wait()
    }

    /// The first column of the first row as `T`.
    func value<T: DatabaseValueConvertible>(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws -> T? {
        guard let row = try rows(sql, arguments).first, let column = row.columnNames.first else { return nil }
        return row[column]
    }

    /// One PostgreSQL row as the values SQLite would hold: integers of any
    /// width and booleans as integers, `bytea` as a blob, the rest as text.
    static func row(_ row: PostgresRow) throws -> Row {
        var values: [String: (any DatabaseValueConvertible)?] = [:]
        for cell in row {
            values[cell.columnName] = try value(cell)
        }
        return Row(values)
    }

    private static func value(_ cell: PostgresCell) throws -> DatabaseValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2: return try Int64(cell.decode(Int16.self)).databaseValue
        case .int4: return try Int64(cell.decode(Int32.self)).databaseValue
        case .int8: return try cell.decode(Int64.self).databaseValue
        case .bool: return try (cell.decode(Bool.self) ? 1 : 0 as Int64).databaseValue
        case .float4, .float8: return try cell.decode(Double.self).databaseValue
        case .bytea: return Data(buffer: cell.bytes!).databaseValue
        case .text, .varchar: return try cell.decode(String.self).databaseValue
        default:
            // `name` and other text-like types: their binary form is the text.
            return String(buffer: cell.bytes!).databaseValue
        }
    }

    /// A quoted identifier (`only` is a reserved word in PostgreSQL).
    static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// How records are written: their columns come from the records' one
/// mapping (`databaseDictionary`, which also signs authenticated rows), the
/// statements from here.
extension PostgresSession {
    /// Inserts `record`; a NULL `id` of an identity column is left to the database.
    /// Returns the inserted row's primary key columns.
    @discardableResult
    func insert<R: EncodableRecord & TableRecord>(_ record: R, returning: String? = nil) throws -> Row? {
        var values = try record.databaseDictionary
        if values["id"] == .null { values["id"] = nil }
        let columns = values.keys.sorted()
        let sql = "INSERT INTO \(R.databaseTableName) (\(columns.map(Self.quoted).joined(separator: ", "))) VALUES (\(Self.placeholders(columns.count)))"
            + (returning.map { " RETURNING \($0)" } ?? "")
        return try rows(sql, columns.map { values[$0]! }).first
    }

    /// Updates the row `key` names with every column of `record`.
    func update<R: EncodableRecord & TableRecord>(_ record: R, key: [String]) throws {
        let values = try record.databaseDictionary
        let columns = values.keys.filter { !key.contains($0) }.sorted()
        let set = columns.enumerated().map { "\(Self.quoted($1)) = $\($0 + 1)" }.joined(separator: ", ")
        let condition = key.enumerated().map { "\(Self.quoted($1)) = $\(columns.count + $0 + 1)" }.joined(separator: " AND ")
        let changed = try execute("UPDATE \(R.databaseTableName) SET \(set) WHERE \(condition)", columns.map { values[$0]! } + key.map { values[$0]! })
        guard changed == 1 else {
            throw KeywardenError(.conflict, "the \(R.databaseTableName) row to update was not found (changed by another host meanwhile?); nothing was changed")
        }
    }

    /// Inserts `record`, or replaces the row with the same `key`.
    func save<R: EncodableRecord & TableRecord>(_ record: R, key: [String]) throws {
        let values = try record.databaseDictionary
        let columns = values.keys.sorted()
        let others = columns.filter { !key.contains($0) }
        let sql = """
            INSERT INTO \(R.databaseTableName) (\(columns.map(Self.quoted).joined(separator: ", "))) VALUES (\(Self.placeholders(columns.count)))
            ON CONFLICT (\(key.map(Self.quoted).joined(separator: ", "))) DO UPDATE SET \(others.map { "\(Self.quoted($0)) = EXCLUDED.\(Self.quoted($0))" }.joined(separator: ", "))
            """
        try execute(sql, columns.map { values[$0]! })
    }

    /// Deletes the row `key` names.
    func delete<R: EncodableRecord & TableRecord>(_ record: R, key: [String]) throws {
        let values = try record.databaseDictionary
        let condition = key.enumerated().map { "\(Self.quoted($1)) = $\($0 + 1)" }.joined(separator: " AND ")
        try execute("DELETE FROM \(R.databaseTableName) WHERE \(condition)", key.map { values[$0]! })
    }

    static func placeholders(_ count: Int, from first: Int = 1) -> String {
        (first..<(first + count)).map { "$\($0)" }.joined(separator: ", ")
    }

    /// Runs `body` in one transaction, committed when it returns and rolled
    /// back when it throws, after taking the advisory lock `lock` (held until
    /// the transaction ends).
    func inTransaction<T>(locking lock: Int64, _ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            try execute("SELECT pg_advisory_xact_lock($1)", [lock])
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// Splits a migration file into statements: on `;` outside quotes,
    /// `$$` bodies and comments (the extended protocol runs one at a time).
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var inQuote = false, inDollar = false, inComment = false
        let scalars = Array(sql.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            let next: Unicode.Scalar? = i + 1 < scalars.count ? scalars[i + 1] : nil
            if inComment {
                if c == "\n" { inComment = false; current.unicodeScalars.append(c) }
            } else if inQuote {
                current.unicodeScalars.append(c)
                if c == "'" { inQuote = false }
            } else if inDollar {
                current.unicodeScalars.append(c)
                if c == "$", next == "$" { current.unicodeScalars.append("$"); i += 1; inDollar = false }
            } else if c == "-", next == "-" {
                inComment = true
            } else if c == "'" {
                inQuote = true; current.unicodeScalars.append(c)
            } else if c == "$", next == "$" {
                inDollar = true; current += "$$"; i += 1
            } else if c == ";" {
                let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !statement.isEmpty { statements.append(statement) }
                current = ""
            } else {
                current.unicodeScalars.append(c)
            }
            i += 1
        }
        let last = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !last.isEmpty { statements.append(last) }
        return statements
    }
}

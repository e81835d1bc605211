import GRDB
import KeywardenMigrations

/// A PostgreSQL vault's rows as stored, for `storage copy`: the target
/// database checked and prepared, one transaction that inserts rows with
/// every column exactly as the source holds them (no record decodes or
/// re-signs them), and the rows read back.
extension PostgresStore {
    /// What a database holds, before `storage copy` writes to it.
    enum CopyTargetState: Equatable {
        /// No tables at all.
        case empty
        /// Keywarden's tables and nothing in them (a failed `init` or copy leaves that).
        case emptyVaultSchema
        /// A vault (its id), or rows of Keywarden's tables without one.
        case holdsVault(id: String?)
        /// Tables that are not Keywarden's.
        case otherTables([String])
    }

    /// Looks at the database `url` names without changing it. `vaultTables`
    /// are the tables a vault has (besides `grdb_migrations`).
    static func copyTargetState(_ url: DatabaseURL, vaultTables: [String]) throws(KeywardenError) -> CopyTargetState {
        let connections = try PostgresConnections(url)
        defer { connections.closeAll() }
        do {
            return try connections.withConnection { connection in
                let session = PostgresSession(connection: connection)
                let tables: [String] = try session.rows("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").map { $0["tablename"] }
                if tables.isEmpty { return .empty }
                let known = Set(vaultTables + ["grdb_migrations"])
                let others = tables.filter { !known.contains($0) }.sorted()
                if !others.isEmpty { return .otherTables(others) }
                if tables.contains("vault"), let id: String = try session.value("SELECT vault_id FROM vault LIMIT 1") {
                    return .holdsVault(id: id)
                }
                for table in tables where table != "grdb_migrations" {
                    let rows: Int64 = try session.value("SELECT COUNT(*) FROM \(PostgresSession.quoted(table))") ?? 0
                    if rows > 0 { return .holdsVault(id: nil) }
                }
                return .emptyVaultSchema
            }
        } catch {
            throw PostgresConnections.describe(error, url: url)
        }
    }

    /// Runs `body` in one write transaction under the vault's write lock, as
    /// every other write takes it; commits when `body` returns, rolls back
    /// when it throws. Other hosts are told of the change (`NOTIFY`).
    func rawWrite<T>(_ body: (RawTarget) throws -> T) throws(KeywardenError) -> T {
        try run { session in
            try session.execute("BEGIN")
            do {
                try session.execute("SELECT pg_advisory_xact_lock($1)", [Self.writeLock])
                let result = try body(RawTarget(session: session))
                try session.execute("NOTIFY \(Self.channel)")
                try session.execute("COMMIT")
                return result
            } catch {
                _ = try? session.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Runs `body` with raw access outside a transaction (each statement its own).
    func rawRead<T>(_ body: (RawTarget) throws -> T) throws(KeywardenError) -> T {
        try run { session in try body(RawTarget(session: session)) }
    }

    /// Statements on the target's rows as stored.
    struct RawTarget {
        let session: PostgresSession

        /// The columns of `table`, in the schema's order.
        func columns(of table: String) throws -> [String] {
            try session.rows("""
                SELECT column_name::text AS name FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position
                """, [table]).map { $0["name"] }
        }

        func count(_ table: String) throws -> Int {
            Int(try session.value("SELECT COUNT(*) FROM \(PostgresSession.quoted(table))") as Int64? ?? 0)
        }

        /// Inserts `rows` (values of `columns`, in that order) as they are,
        /// many rows per statement.
        func insert(_ table: String, columns: [String], rows: [[DatabaseValue]]) throws {
            guard !columns.isEmpty else { return }
            let perStatement = max(1, min(500, 30_000 / columns.count))
            let list = columns.map(PostgresSession.quoted).joined(separator: ", ")
            var start = 0
            while start < rows.count {
                let batch = rows[start..<min(rows.count, start + perStatement)]
                var arguments: [(any DatabaseValueConvertible)?] = []
                arguments.reserveCapacity(batch.count * columns.count)
                var tuples: [String] = []
                for row in batch {
                    tuples.append("(" + PostgresSession.placeholders(columns.count, from: arguments.count + 1) + ")")
                    arguments.append(contentsOf: row.map { $0 as (any DatabaseValueConvertible)? })
                }
                try session.execute("INSERT INTO \(PostgresSession.quoted(table)) (\(list)) VALUES \(tuples.joined(separator: ", "))", arguments)
                start += batch.count
            }
        }

        /// Every row of `table` as stored, in pages of 1,000 ordered by `key`
        /// (the primary key), so a long audit trail is never held whole.
        func forEachRow(_ table: String, columns: [String], key: [String], _ body: ([DatabaseValue]) throws -> Void) throws {
            let list = columns.map(PostgresSession.quoted).joined(separator: ", ")
            let keyList = key.map(PostgresSession.quoted).joined(separator: ", ")
            let keyIndexes = key.map { columns.firstIndex(of: $0)! }
            var after: [DatabaseValue]?
            while true {
                var sql = "SELECT \(list) FROM \(PostgresSession.quoted(table))"
                if after != nil { sql += " WHERE (\(keyList)) > (\(PostgresSession.placeholders(key.count)))" }
                sql += " ORDER BY \(keyList) LIMIT 1000"
                let page = try session.rows(sql, (after ?? []).map { $0 as (any DatabaseValueConvertible)? })
                for row in page {
                    try body(columns.map { row[$0] as DatabaseValue })
                }
                guard page.count == 1000, let last = page.last else { return }
                after = keyIndexes.map { last[columns[$0]] as DatabaseValue }
            }
        }

        /// Moves the identity sequence of `table.column` on, so that the next
        /// row the database numbers gets an id above `value`.
        func advanceIdentity(_ table: String, column: String, past value: Int64) throws {
            guard value >= 1 else { return }
            try session.execute("SELECT setval(pg_get_serial_sequence($1, $2), $3, true)", [table, column, value])
        }

        /// The applied migrations' identifiers.
        func appliedMigrations() throws -> [String] {
            try session.rows("SELECT identifier FROM grdb_migrations ORDER BY identifier").map { $0["identifier"] }
        }
    }
}

import Foundation
import GRDB

/// Row MACs where rows cross GRDB: the records of authenticated tables check
/// a fetched row in `init(row:)` before decoding it, and sign what they
/// encode in `encode(to:)` (SQLiteRecords.swift). GRDB gives those hooks no
/// context, so the store binds the transaction's authenticator as a task
/// local (which also works on the plain threads GRDB runs transactions on)
/// for the duration of each transaction.
enum SQLiteRowMACs {
    /// The authenticator of the transaction running on this thread.
    @TaskLocal static var current: RowAuthenticator?

    /// Checks a fetched row of `table`; throws an integrity error naming it.
    static func check(_ row: Row, _ table: RowAuthentication.Table) throws {
        guard let authenticator = current else {
            throw KeywardenError(.failed, "internal error: a \(table.name) row was read outside a vault transaction, so its MAC could not be checked")
        }
        let stored: Data? = row["mac"]
        try authenticator.check(table, storedMAC: stored.map(Array.init)) { column in
            StoredValue(row.hasColumn(column) ? row[column] as DatabaseValue : .null)
        }
    }

    /// Adds the MAC of exactly the values in `container` (one row of `table`).
    static func sign(_ container: inout PersistenceContainer, _ table: RowAuthentication.Table) throws {
        guard let authenticator = current else {
            throw KeywardenError(.failed, "internal error: a \(table.name) row was written outside a vault transaction, so it could not get its MAC")
        }
        let written = container
        let mac = try authenticator.macForWrite(table) { column in StoredValue(written[column]?.databaseValue ?? .null) }
        container["mac"] = Data(mac)
    }

    /// Computes and stores the MAC of every row of every authenticated table
    /// from its stored values (the one-time upgrade after migration 0004).
    static func authenticateEveryRow(_ db: Database, with authenticator: RowAuthenticator) throws -> Int {
        var count = 0
        for table in RowAuthentication.all {
            for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table.name)") {
                let mac = try authenticator.expectedMAC(table) { column in StoredValue(row.hasColumn(column) ? row[column] as DatabaseValue : .null) }
                let keyColumns = table.key.map { "\($0) = ?" }.joined(separator: " AND ")
                var arguments: StatementArguments = [Data(mac)]
                for column in table.key { _ = arguments.append(contentsOf: [row[column] as DatabaseValue]) }
                try db.execute(sql: "UPDATE \(table.name) SET mac = ? WHERE \(keyColumns)", arguments: arguments)
                if table.name != RowAuthentication.vault.name { count += 1 }
            }
        }
        return count
    }
}

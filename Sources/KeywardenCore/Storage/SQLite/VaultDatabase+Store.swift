import GRDB

/// The SQLite store: transactions on the vault file through GRDB's pool.
extension VaultDatabase: VaultStore {
    var displayLocation: String { location.databasePath }

    func read<T>(_ rows: RowAuthenticator, _ body: (any StoreReading) throws -> T) throws(KeywardenError) -> T {
        do {
            return try writer.read { db in
                try SQLiteRowMACs.$current.withValue(rows) { try body(SQLiteTransaction(db: db, rows: rows)) }
            }
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw Self.mapStorageError(error)
        }
    }

    func write<T>(_ rows: RowAuthenticator, observer: CommitObserver?, _ body: (any StoreWriting) throws -> T) throws(KeywardenError) -> T {
        do {
            return try writer.writeWithoutTransaction { db in
                // One `BEGIN IMMEDIATE` transaction: a writer (another process
                // included) waits for the busy timeout here, before reading
                // anything, instead of failing halfway on a lock upgrade.
                // `PRAGMA data_version` changes only when another connection
                // commits: read inside the transaction and again after COMMIT,
                // still on the writer, it tells the observer whether this
                // commit was the only one in between.
                var result: T?
                var versionBefore: Int?
                try db.inTransaction(.immediate) {
                    if let observer {
                        versionBefore = try Int.fetchOne(db, sql: "PRAGMA data_version")
                        observer.inTransaction()
                    }
                    result = try SQLiteRowMACs.$current.withValue(rows) { try body(SQLiteTransaction(db: db, rows: rows)) }
                    return .commit
                }
                if let observer {
                    observer.afterCommit()
                    let versionAfter = try Int.fetchOne(db, sql: "PRAGMA data_version")
                    observer.confirm(versionBefore != nil && versionBefore == versionAfter)
                }
                return result!
            }
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw Self.mapStorageError(error)
        }
    }

    func appliedMigrations() throws(KeywardenError) -> [String] {
        do {
            return try writer.read { db in try Self.migrator.completedMigrations(db) }
        } catch {
            throw Self.mapStorageError(error)
        }
    }

    /// Database errors as messages a user can act on.
    static func mapStorageError(_ error: any Error) -> KeywardenError {
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return KeywardenError(.failed, "the vault is busy (another keywarden process is writing); try again")
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return KeywardenError(.integrity, "the vault file is damaged: \(error.message ?? "corrupt"); restore it from a backup")
            case .SQLITE_FULL:
                return KeywardenError(.failed, "the disk is full; nothing was changed")
            case .SQLITE_CONSTRAINT:
                return KeywardenError(.conflict, "the vault refused the change (\(error.message ?? "constraint")); nothing was changed")
            default:
                return KeywardenError(.failed, "storage error: \(error.message ?? "\(error.resultCode)")")
            }
        }
        return KeywardenError(.failed, "storage error: \(error)")
    }
}

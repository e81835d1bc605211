#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GRDB
import KeywardenMigrations

/// A vault file opened only to be read, for `storage copy`: one read-only
/// SQLite connection (`SQLITE_OPEN_READONLY`), no pool, no migration. The
/// store's usual open writes to the file even when nothing changes (GRDB
/// creates and drops a table to make the WAL exist, which moves the file's
/// change counter); this one cannot write at all, so the file stays byte for
/// byte as it was. The vault unlocks and reads through it as through
/// `VaultDatabase` (the same transactions, row MACs checked), and it reads
/// rows exactly as stored (`snapshot`), without decoding them.
///
/// A failed unlock is still recorded in the file, as every command records
/// it: that one write goes through the usual store.
final class ReadOnlyVaultFile: Sendable {
    let location: VaultLocation
    private let queue: DatabaseQueue

    var path: String { location.databasePath }

    /// Opens the vault file at `location` read-only, after the checks the
    /// usual open makes (folder, mode, a vault's tables); refuses a file at
    /// another schema than this version's, which only the usual open (which
    /// migrates) may change.
    static func open(at location: VaultLocation) throws(KeywardenError) -> ReadOnlyVaultFile {
        let path = location.databasePath
        try location.checkFolder()
        guard let mode = SecureFiles.mode(of: path) else { throw .noVault(at: path) }
        guard mode & 0o077 == 0 else {
            throw KeywardenError(.invalidInput, "\(path) is open to other users (mode \(SecureFiles.octal(mode))); run `chmod 600 \(path)` and check who could have copied it")
        }
        var config = Configuration()
        config.label = "keywarden-read-only"
        config.readonly = true
        config.busyMode = .timeout(5)
        let file: ReadOnlyVaultFile
        do {
            file = ReadOnlyVaultFile(location: location, queue: try DatabaseQueue(path: path, configuration: config))
        } catch {
            throw VaultDatabase.mapStorageError(error)
        }
        let tables: Set<String>
        do {
            tables = try file.snapshot { try Set($0.tables()) }
        } catch {
            throw (error as? KeywardenError) ?? KeywardenError(.failed, "cannot read \(path): \(error)")
        }
        guard tables.contains("grdb_migrations"), tables.contains("vault") else {
            throw KeywardenError.notAVault(path, "it is an SQLite database without Keywarden's tables (another program's file?)")
        }
        let applied = try file.appliedMigrations()
        let known = SchemaMigrations.all.map(\.identifier)
        let newer = applied.filter { !known.contains($0) }
        if !newer.isEmpty {
            throw KeywardenError(.integrity, "\(path) was written by a newer Keywarden (schema \(newer.joined(separator: ", "))); upgrade keywarden to copy it. Nothing was copied")
        }
        let missing = known.filter { !applied.contains($0) }
        if !missing.isEmpty {
            throw KeywardenError(.invalidInput, "\(path) is at an older schema (it lacks \(missing.joined(separator: ", "))) and storage copy only reads it; open it once with this version (`keywarden status`), which upgrades it, then copy again. Nothing was copied")
        }
        return file
    }

    private init(location: VaultLocation, queue: DatabaseQueue) {
        self.location = location
        self.queue = queue
    }

    /// Moves whenever another connection (another process included) commits
    /// to the file; equal values read here mean nobody wrote in between.
    func dataVersion() throws(KeywardenError) -> Int {
        do {
            return try queue.read { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        } catch {
            throw VaultDatabase.mapStorageError(error)
        }
    }

    /// Runs `body` in one read transaction: one snapshot of the file.
    /// SQLite's errors come out as messages; `body`'s own as they are.
    func snapshot<T>(_ body: (RawSnapshot) throws -> T) throws -> T {
        do {
            return try queue.read { db in try body(RawSnapshot(db: db)) }
        } catch let error as DatabaseError {
            throw VaultDatabase.mapStorageError(error)
        }
    }

    /// One read transaction's view of the file, rows as stored.
    struct RawSnapshot {
        let db: Database

        /// The tables of the schema, SQLite's own (`sqlite_…`) left out.
        func tables() throws -> [String] {
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        }

        /// The columns of `table`, in the schema's order.
        func columns(of table: String) throws -> [String] {
            try Row.fetchAll(db, sql: "PRAGMA table_info(\(table.quotedDatabaseIdentifier))").map { $0["name"] }
        }

        /// Every row of `table` as stored: `columns`' values, in that order.
        func forEachRow(_ table: String, columns: [String], _ body: ([DatabaseValue]) throws -> Void) throws {
            let list = columns.map(\.quotedDatabaseIdentifier).joined(separator: ", ")
            let rows = try Row.fetchCursor(db, sql: "SELECT \(list) FROM \(table.quotedDatabaseIdentifier)")
            while let row = try rows.next() {
                try body((0..<columns.count).map { row[$0] as DatabaseValue })
            }
        }

        /// The highest id an AUTOINCREMENT table has handed out (removed rows
        /// included), from `sqlite_sequence`; nil when it has none.
        func autoincrementSequence(_ table: String) throws -> Int64? {
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'") == 1 else { return nil }
            return try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table])
        }
    }
}

extension ReadOnlyVaultFile: VaultStore {
    var displayLocation: String { location.databasePath }

    func read<T>(_ rows: RowAuthenticator, _ body: (any StoreReading) throws -> T) throws(KeywardenError) -> T {
        do {
            return try queue.read { db in
                try SQLiteRowMACs.$current.withValue(rows) { try body(SQLiteTransaction(db: db, rows: rows)) }
            }
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw VaultDatabase.mapStorageError(error)
        }
    }

    /// Only a failed unlock's audit event is written (through the usual
    /// store); anything else is refused: this store only reads.
    func write<T>(_ rows: RowAuthenticator, observer: CommitObserver?, _ body: (any StoreWriting) throws -> T) throws(KeywardenError) -> T {
        guard case .beforeUnlock = rows.mode else {
            throw KeywardenError(.invalidInput, "storage copy only reads \(path), and the vault needs a change first (a one-time upgrade after a schema change); open it once with `keywarden status`, then copy again. Nothing was copied")
        }
        return try VaultDatabase.open(at: location).write(rows, observer: observer, body)
    }

    func appliedMigrations() throws(KeywardenError) -> [String] {
        do {
            return try queue.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
        } catch {
            throw VaultDatabase.mapStorageError(error)
        }
    }
}

extension OpenedStore {
    /// The vault file at `location`, opened only to be read (``ReadOnlyVaultFile``):
    /// for `storage copy`, which must leave the file as it was.
    public static func readOnlyFile(at location: VaultLocation) throws(KeywardenError) -> OpenedStore {
        OpenedStore(store: try ReadOnlyVaultFile.open(at: location))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GRDB
import KeywardenMigrations

/// The SQLite file of a vault, opened with the settings that lose no committed
/// write (WAL, `synchronous=FULL`, `BEGIN IMMEDIATE` writes, a busy timeout)
/// and migrated to the current schema. Opening refuses, with a message naming
/// the file, anything that is not a Keywarden vault this binary understands.
public final class VaultDatabase: Sendable {
    /// Where the vault lives.
    public let location: VaultLocation
    /// The GRDB connection pool (one writer, concurrent readers). Only the
    /// store's own transactions use it (and tests, to look at the file).
    let writer: DatabasePool

    private init(location: VaultLocation, writer: DatabasePool) {
        self.location = location
        self.writer = writer
    }

    /// Creates a new vault file: folder 0700, file 0600 created before SQLite
    /// opens it (so `-wal` and `-shm` inherit 0600), schema migrated.
    public static func create(at location: VaultLocation) throws(KeywardenError) -> VaultDatabase {
        try SecureFiles.ensurePrivateDirectory(location.directory)
        if location.exists { throw .vaultExists(at: location.databasePath) }
        let fd = try SecureFiles.createPrivateFile(location.databasePath)
        close(fd)
        do {
            let writer = try openPool(location.databasePath)
            try writer.write { db in try db.execute(sql: "SELECT 1") }
            try migrator.migrate(writer)
            return VaultDatabase(location: location, writer: writer)
        } catch {
            // A half-created vault is worse than none.
            for suffix in ["", "-wal", "-shm"] { unlink(location.databasePath + suffix) }
            throw mapOpenError(error, path: location.databasePath)
        }
    }

    /// Opens an existing vault, migrating an older schema forward.
    public static func open(at location: VaultLocation) throws(KeywardenError) -> VaultDatabase {
        let path = location.databasePath
        try location.checkFolder()
        guard let mode = SecureFiles.mode(of: path) else { throw .noVault(at: path) }
        guard mode & 0o077 == 0 else {
            throw KeywardenError(.invalidInput, "\(path) is open to other users (mode \(SecureFiles.octal(mode))); run `chmod 600 \(path)` and check who could have copied it")
        }
        let looksTruncated = try checkHeader(path)
        do {
            let writer = try openPool(path)
            try writer.read { db in
                let tables = try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                guard tables.contains("grdb_migrations"), tables.contains("vault") else {
                    throw KeywardenError.notAVault(path, "it is an SQLite database without Keywarden's tables (another program's file?)")
                }
                if try migrator.hasBeenSuperseded(db) {
                    let known = Set(SchemaMigrations.all.map(\.identifier))
                    let unknown = try migrator.appliedIdentifiers(db).subtracting(known).sorted()
                    throw KeywardenError(.integrity, "\(path) was written by a newer Keywarden (schema \(unknown.joined(separator: ", "))); upgrade keywarden to open it. Nothing was changed")
                }
                if looksTruncated {
                    let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                    guard check == ["ok"] else {
                        throw KeywardenError.notAVault(path, "SQLite reports damage (\(check.prefix(3).joined(separator: "; "))); restore it from a backup")
                    }
                }
            }
            try migrator.migrate(writer)
            return VaultDatabase(location: location, writer: writer)
        } catch {
            throw mapOpenError(error, path: path)
        }
    }


    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        for migration in SchemaMigrations.all {
            let sql = migration.sql
            migrator.registerMigration(migration.identifier) { db in try db.execute(sql: sql) }
        }
        return migrator
    }()

    private static func openPool(_ path: String) throws -> DatabasePool {
        var config = Configuration()
        config.label = "keywarden-vault"
        config.busyMode = .timeout(5)
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            // WAL with synchronous=NORMAL may lose the last commits on power
            // loss; FULL does not.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Overwrite deleted content with zeros, so freed pages do not
            // keep old row images (an older genuine row, a removed key's
            // ciphertext) for someone to copy back. The WAL is checkpointed
            // by SQLite's autocheckpoint (1000 pages) and when the last
            // connection closes (every CLI command; the WAL is then removed);
            // after a checkpoint it is truncated rather than left at its peak
            // size with old frames in it.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "PRAGMA journal_size_limit = 0")
            // A page cache of 512 KiB per connection instead of SQLite's
            // 2 MiB. The agent keeps a writer and up to five readers open for
            // as long as it runs, and their caches were most of what it
            // allocates: 4.7 MB outstanding in SQLite while it held 10,000
            // keys (issue 12's memory target is 40 MiB for the whole agent).
            // It answers repeated reads from its own cache, and the vault's
            // pages stay in the kernel's page cache, where a miss here costs
            // one pread of a 4 KiB page.
            try db.execute(sql: "PRAGMA cache_size = -512")
        }
        let pool = try DatabasePool(path: path, configuration: config)
        // GRDB's pool sets `synchronous = NORMAL` on its writer when it turns
        // WAL on, after `prepareDatabase` ran: set FULL again on the writer
        // (the only connection that commits), or a commit — an audit event
        // the agent waits for before it answers with a value — is not synced
        // to disk and can be lost on power failure.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        return pool
    }

    /// Refuses empty, truncated-to-nothing and non-SQLite files before SQLite
    /// sees them (SQLite would happily treat an empty file as a new database).
    /// Returns whether the file looks shorter than its header says.
    private static func checkHeader(_ path: String) throws(KeywardenError) -> Bool {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SecureFiles.posixError("cannot open \(path)") }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 100)
        let n = Glibc.read(fd, &header, 100)
        if n == 0 { throw .notAVault(path, "the file is empty") }
        guard n >= 16, header[..<16].elementsEqual("SQLite format 3\0".utf8) else {
            throw .notAVault(path, "it is not an SQLite database")
        }
        // A file shorter than its header says looks truncated: a check in
        // O(1), where a full `quick_check` at every open cost time in
        // proportion to the audit trail (`audit verify` still runs one). The
        // page count at offset 28 is valid when the change counters at 24
        // and 92 agree. It is only a suspicion, which `open` settles with
        // `quick_check`: a checkpoint copies page 1 (with the new count)
        // before the pages that extend the file, so a live vault can be
        // shorter than its header for a moment, and one whose checkpoint a
        // crash interrupted until SQLite finishes it from the log.
        func be32(_ at: Int) -> Int { header[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        var info = stat()
        guard n == 100, be32(24) == be32(92), fstat(fd, &info) == 0 else { return false }
        let rawPageSize = Int(header[16]) << 8 | Int(header[17])
        let pageSize = rawPageSize == 1 ? 65536 : rawPageSize
        return be32(28) * pageSize > Int(info.st_size)
    }

    private static func mapOpenError(_ error: any Error, path: String) -> KeywardenError {
        if let error = error as? KeywardenError { return error }
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB: return .notAVault(path, "it is not an SQLite database")
            case .SQLITE_CORRUPT: return .notAVault(path, "the file is damaged or truncated; restore it from a backup")
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY: return KeywardenError(.failed, "cannot open \(path): \(error.message ?? "permission denied")")
            default: return KeywardenError(.failed, "cannot open \(path): \(error.message ?? "\(error.resultCode)")")
            }
        }
        return KeywardenError(.failed, "cannot open \(path): \(error)")
    }
}

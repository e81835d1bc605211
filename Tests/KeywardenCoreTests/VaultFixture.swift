import Foundation
import GRDB
import Logging
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenTestSupport

/// The storage backends the storage and vault suites run against.
enum TestBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// The embedded vault file.
    case sqlite
    /// A vault in its own database on the test suite's PostgreSQL server.
    case postgres

    var testDescription: String { rawValue }

    /// The backends this run can test, for `@Test(arguments:)`: PostgreSQL
    /// only when a test server runs (`scripts/test.sh` starts one and sets
    /// `KEYWARDEN_TEST_POSTGRES_URL`), so a plain `swift test` still passes.
    static let available: [TestBackend] = PostgresTestDatabase.isAvailable ? allCases : [.sqlite]
}

/// A fresh vault, unlocked with a keyfile: a file in a temporary folder
/// (SQLite, the default), or the tables of a fresh database on the test
/// server (PostgreSQL), dropped when the fixture goes away.
final class VaultFixture: @unchecked Sendable {
    let backend: TestBackend
    let directory = TemporaryDirectory()
    /// The vault file's location (SQLite; for PostgreSQL an unused folder).
    let location: VaultLocation
    /// The vault's database (PostgreSQL only), kept until the fixture goes away.
    let postgres: PostgresTestDatabase?
    /// Where the vault lives, as `VaultAddress.resolve` would name it.
    let address: VaultAddress
    let keyfile: String
    let vault: Vault

    static func context(_ name: String = "test", anchorDirectory: String? = nil) -> VaultContext {
        VaultContext(actor: AuditActor(uid: 1000, pid: 42, name: name), logger: Logger(label: "test"), anchorDirectory: anchorDirectory)
    }

    /// Where this fixture's audit anchor lives (never the real home).
    var anchorDirectory: String { directory.file("state") }

    init(backend: TestBackend = .sqlite, passphrase: String? = nil) throws {
        self.backend = backend
        location = VaultLocation(directory: directory.file("home"))
        keyfile = directory.file("vault.key")
        switch backend {
        case .sqlite:
            postgres = nil
            address = .file(location)
        case .postgres:
            let database = try PostgresTestDatabase()
            postgres = database
            address = .postgres(try DatabaseURL(database.url))
        }
        var slots: [NewKeyslot] = [.keyfile(path: keyfile)]
        if let passphrase { slots.append(.passphrase(SecureBytes(copying: Array(passphrase.utf8)), .interactive)) }
        vault = try Vault.create(in: address, slots: slots, scopes: ["dev", "staging", "prod"], context: Self.context(anchorDirectory: directory.file("state")))
    }

    /// The PostgreSQL stores this fixture opened, closed before the database is dropped.
    private let stores = NSLock()
    private var openedStores: [PostgresStore] = []

    deinit {
        // Every pool and change listener goes before the database: a
        // listener whose database vanished would try to reconnect.
        for store in stores.withLock({ openedStores }) { store.close() }
        vault.postgres?.close()
    }

    /// Opens the vault again as a new process (or another host) would.
    func reopen(_ credential: UnlockCredential? = nil) throws -> Vault {
        try Vault.unlock(open(), with: credential ?? .keyfile(path: keyfile), context: Self.context(anchorDirectory: anchorDirectory))
    }

    /// Opens the vault's store as a new process (or another host) would, not yet unlocked.
    func open() throws -> OpenedStore {
        switch backend {
        case .sqlite: return OpenedStore(try VaultDatabase.open(at: location))
        case .postgres:
            let opened = try address.open()
            if let store = opened.store as? PostgresStore { stores.withLock { openedStores.append(store) } }
            return opened
        }
    }

    /// A raw connection to the file, as `sqlite3` would have, for tampering (SQLite only).
    func raw() throws -> DatabaseQueue {
        precondition(backend == .sqlite, "raw() opens the SQLite file; use execute(_:) or postgres.psql(_:) for PostgreSQL")
        return try DatabaseQueue(path: location.databasePath)
    }

    /// Every byte of the vault's files (database, WAL), for leak checks (SQLite only).
    func fileBytes() -> [UInt8] {
        precondition(backend == .sqlite, "fileBytes() reads the SQLite file; use storedText() for PostgreSQL")
        return ["", "-wal", "-shm"].flatMap { suffix in
            (FileManager.default.contents(atPath: location.databasePath + suffix)).map(Array.init) ?? []
        }
    }

    /// Runs SQL as someone with write access to the database but neither
    /// keyfile nor passphrase would: `sqlite3` on the file, or `psql` as the
    /// PostgreSQL server's superuser. The statements are one transaction.
    func execute(_ sql: String) throws {
        switch backend {
        case .sqlite: try raw().write { db in try db.execute(sql: sql) }
        case .postgres: try postgres!.psql(sql)
        }
    }

    /// Runs SQL past `audit_events`' append-only triggers, as someone with
    /// write access can: SQLite drops `sqliteTriggers` (for good, as the
    /// SQLite tests always did), PostgreSQL disables the table's triggers for
    /// the statements' transaction only.
    func executePastAuditTriggers(_ sql: String, sqliteTriggers: [String] = AuditTriggers.sqlite) throws {
        switch backend {
        case .sqlite:
            try raw().write { db in
                for trigger in sqliteTriggers { try db.execute(sql: "DROP TRIGGER IF EXISTS \(trigger)") }
                try db.execute(sql: sql)
            }
        case .postgres:
            try postgres!.psql("ALTER TABLE audit_events DISABLE TRIGGER USER; \(sql); ALTER TABLE audit_events ENABLE TRIGGER USER")
        }
    }

    enum AuditTriggers {
        static let sqlite = ["audit_events_append_only_update", "audit_events_append_only_delete", "audit_events_seal_once"]
    }

    /// The first column of the first row of `query`, as text (integers in
    /// decimal, blobs as `\x` and hex, as psql shows them); nil for NULL or no row.
    func value(_ query: String) throws -> String? {
        switch backend {
        case .sqlite:
            let value = try raw().read { db in try DatabaseValue.fetchOne(db, sql: query) }
            switch value?.storage {
            case nil, .null?: return nil
            case .int64(let n)?: return String(n)
            case .double(let d)?: return String(d)
            case .string(let s)?: return s
            case .blob(let data)?: return "\\x" + data.map { String(format: "%02x", $0) }.joined()
            }
        case .postgres:
            let text = try postgres!.psql(query)
            return text.isEmpty ? nil : text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)
        }
    }

    /// What someone who can read the database sees of it: every byte of the
    /// vault file (SQLite), or every row of every table as `psql` prints it,
    /// blobs in hex (PostgreSQL), for leak checks.
    func storedBytes() throws -> [UInt8] {
        switch backend {
        case .sqlite: return fileBytes()
        case .postgres:
            let tables = try postgres!.psql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
                .split(separator: "\n").map(String.init)
            precondition(tables.contains("keys") && tables.contains("audit_events"), "no vault tables in \(tables)")
            var dump: [UInt8] = []
            for table in tables {
                dump += Array(try postgres!.psql("SELECT t::text FROM \(table) t").utf8)
            }
            return dump
        }
    }

    /// Whether `value` occurs in what `storedBytes()` returned: as bytes, and
    /// (PostgreSQL, where blobs print as hex) as the hex of its bytes.
    func stored(_ stored: [UInt8], contains value: [UInt8]) -> Bool {
        if stored.contains(bytes: value) { return true }
        guard backend == .postgres else { return false }
        return stored.contains(bytes: Array(value.map { String(format: "%02x", $0) }.joined().utf8))
    }
}

func secret(_ text: String) -> SecureBytes { SecureBytes(copying: Array(text.utf8)) }

/// Realistic-looking test keys (made up; no provider accepts them).
enum TestKeys {
    static let anthropic = "sk-ant-api03-" + String(repeating: "Ab3_", count: 23) + "xAA"
    static let anthropic2 = "sk-ant-api03-" + String(repeating: "Zy9-", count: 23) + "qAA"
    static let openai = "sk-proj-" + String(repeating: "q1W2e3R4", count: 6) + "T3BlbkFJ" + String(repeating: "z", count: 20)
    static let gemini = "AIzaSy" + String(repeating: "K", count: 33)
}

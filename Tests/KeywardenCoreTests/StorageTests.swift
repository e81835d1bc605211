import Foundation
import GRDB
import Testing
@testable import KeywardenCore
import KeywardenMigrations
import KeywardenTestSupport

@Suite("Storage: SQLite file and PostgreSQL database, settings, migrations, constraints")
struct StorageTests {
    @Test("a new vault records its migrations; SQLite runs in WAL with synchronous=FULL and foreign keys", arguments: TestBackend.available)
    func settings(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        // In order, every file listed, under the same identifiers on both backends.
        let applied = try f.vault.store.appliedMigrations()
        #expect(applied.starts(with: ["0001_initial", "0002_agent_tokens", "0003_rotation", "0004_row_macs", "0005_revoke_timeout", "0006_agent", "0007_provider_insecure", "0008_gateway"]))
        #expect(applied == SchemaMigrations.all.map(\.identifier))
        #expect(applied.contains("0010_key_headroom"))
        guard let database = f.vault.database else {
            #expect(backend == .postgres)
            #expect(f.vault.postgres != nil)
            return
        }
        let (journal, synchronous, foreignKeys) = try database.writer.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(journal == "wal")
        #expect(synchronous == 2)
        #expect(foreignKeys == 1)
        // The writer is the connection whose commits must be synced (GRDB's
        // pool turns it to NORMAL when it enables WAL; the vault sets FULL back).
        let writerSynchronous = try database.writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(writerSynchronous == 2)
    }

    @Test("the folder is 0700 and the database, -wal and -shm files 0600")
    func permissions() throws {
        let f = try VaultFixture()
        _ = try f.vault.addScope("qa", parent: nil)
        #expect(SecureFiles.mode(of: f.location.directory) == 0o700)
        for suffix in ["", "-wal", "-shm"] {
            let mode = SecureFiles.mode(of: f.location.databasePath + suffix)
            #expect(mode == 0o600, "vault.db\(suffix) has mode \(String(mode ?? 0, radix: 8))")
        }
        #expect(SecureFiles.mode(of: f.keyfile) == 0o600)
    }

    @Test("a vault written by a newer schema is refused, unchanged", arguments: TestBackend.available)
    func newerSchema(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        try f.execute("INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
        let error = #expect(throws: KeywardenError.self) { try f.open() }
        #expect(error?.kind == .integrity)
        #expect(error?.message.contains("newer Keywarden") == true)
        #expect(error?.message.contains("9999_from_the_future") == true)
        #expect(try f.value("SELECT COUNT(*) FROM grdb_migrations") == String(SchemaMigrations.all.count + 1))
    }

    @Test("files that are not vaults are refused with a message naming the file", arguments: [
        ("empty", [UInt8]()), ("text", Array("OPENAI_API_KEY=sk-123\n".utf8)), ("random", (0..<4096).map { UInt8($0 % 251) }),
    ])
    func notVaults(name: String, bytes: [UInt8]) throws {
        let dir = TemporaryDirectory()
        let location = VaultLocation(directory: dir.path)
        FileManager.default.createFile(atPath: location.databasePath, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        let error = #expect(throws: KeywardenError.self) { try VaultDatabase.open(at: location) }
        #expect(error?.kind == .integrity)
        #expect(error?.message.contains(location.databasePath) == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: location.databasePath)) == Data(bytes))
    }

    @Test("another program's SQLite database is refused and not migrated")
    func foreignDatabase() throws {
        let dir = TemporaryDirectory()
        let location = VaultLocation(directory: dir.path)
        FileManager.default.createFile(atPath: location.databasePath, contents: nil, attributes: [.posixPermissions: 0o600])
        try DatabaseQueue(path: location.databasePath).write { db in try db.execute(sql: "CREATE TABLE notes (x)") }
        let error = #expect(throws: KeywardenError.self) { try VaultDatabase.open(at: location) }
        #expect(error?.message.contains("without Keywarden's tables") == true)
        let tables = try DatabaseQueue(path: location.databasePath).read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type='table'") }
        #expect(tables == ["notes"])
    }

    @Test("a truncated vault file is refused as damaged")
    func truncated() throws {
        let f = try VaultFixture()
        for i in 0..<20 { _ = try f.vault.addScope("s\(i)", parent: nil) }
        try f.vault.database!.writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        let size = try FileManager.default.attributesOfItem(atPath: f.location.databasePath)[.size] as! Int
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: f.location.databasePath))
        try handle.truncate(atOffset: UInt64(size / 3))
        try handle.close()
        let error = #expect(throws: KeywardenError.self) { try VaultDatabase.open(at: f.location) }
        #expect(error?.kind == .integrity)
        #expect(error?.message.contains(f.location.databasePath) == true)
    }

    @Test("a damaged page that commands do not read is found by `audit verify`, which names SQLite's finding")
    func damagedPage() throws {
        let f = try VaultFixture()
        for i in 0..<40 { _ = try f.vault.addScope("s\(i)", parent: nil) }
        #expect(try f.vault.verifyAudit().ok)
        try f.vault.database!.writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        let (root, pageSize) = try f.vault.database!.writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'keys_by_fingerprint'")!, try Int.fetchOne(db, sql: "PRAGMA page_size")!)
        }
        // The root page of an index that opening and listing scopes do not read gets a b-tree page type that does not exist.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: f.location.databasePath))
        try handle.seek(toOffset: UInt64((root - 1) * pageSize))
        try handle.write(contentsOf: Data([0x07]))
        try handle.close()
        let reopened = try f.reopen()
        #expect(try reopened.listScopes().count >= 40, "commands that do not read the page still work")
        let verification = try reopened.verifyAudit()
        #expect(!verification.ok)
        #expect(verification.problem?.contains("SQLite reports damage") == true, "\(verification.problem ?? "")")
    }

    @Test("a vault file open to other users is refused")
    func looseMode() throws {
        let f = try VaultFixture()
        chmod(f.location.databasePath, 0o644)
        let error = #expect(throws: KeywardenError.self) { try VaultDatabase.open(at: f.location) }
        #expect(error?.message.contains("chmod 600") == true)
    }

    @Test("the schema allows one active key per provider and scope", arguments: TestBackend.available)
    func oneActiveKey(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let first = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        #expect(first.key.state == .active)
        let second = """
            INSERT INTO keys (id, provider, scope, label, env, state, version, nonce, ciphertext, hint, fingerprint, created_at, updated_at)
            SELECT 'k_second', provider, scope, 'other', env, 'active', 1, nonce, ciphertext, hint, substr(fingerprint, 2) || 'x', created_at, updated_at FROM keys
            """
        switch backend {
        case .sqlite:
            let error = #expect(throws: DatabaseError.self) { try f.execute(second) }
            #expect(error?.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE)
        case .postgres:
            let error = #expect(throws: PostgresTestDatabase.Failed.self) { try f.execute(second) }
            #expect(error?.description.contains("keys_one_active_per_pool") == true, "\(error?.description ?? "")")
        }
        // As a standby key the same row is accepted: only the second active one was refused.
        try f.execute(second.replacingOccurrences(of: "'active'", with: "'standby'"))
        #expect(try f.value("SELECT COUNT(*) FROM keys") == "2")
    }

    @Test("the schema refuses a config entry in an unknown scope and a second config entry of one name", arguments: TestBackend.available)
    func foreignKeysAndUniqueNames(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.setConfig(scope: "prod", name: "BASE_URL", value: secret("https://x"), secret: false)
        // The columns are named, so that each statement fails on the constraint under test alone.
        let copy = { (id: String, scope: String, name: String) in
            """
            INSERT INTO config_entries (id, scope, name, secret, version, nonce, ciphertext, created_at, updated_at, mac)
            SELECT '\(id)', \(scope), \(name), secret, version, nonce, ciphertext, created_at, updated_at, mac FROM config_entries
            """
        }
        let foreignKeysOn = backend == .sqlite ? "PRAGMA foreign_keys = ON; " : ""
        for statement in [copy("c_other", "'nowhere'", "name"), copy("c_other", "scope", "name")] {
            let error = #expect(throws: (any Error).self) { try f.execute(foreignKeysOn + statement) }
            switch backend {
            case .sqlite: #expect((error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT, "\(String(describing: error))")
            case .postgres:
                let text = (error as? PostgresTestDatabase.Failed)?.description ?? ""
                #expect(text.contains("foreign key constraint") || text.contains("duplicate key value"), "\(text)")
            }
        }
        // The same copy under another name in the same scope is accepted.
        try f.execute(foreignKeysOn + copy("c_other", "scope", "'OTHER_URL'"))
        #expect(try f.value("SELECT COUNT(*) FROM config_entries") == "2")
    }

    @Test("audit events cannot be updated or deleted through SQL", arguments: TestBackend.available)
    func appendOnly(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        for statement in ["UPDATE audit_events SET detail = 'x'", "DELETE FROM audit_events"] {
            let error = #expect(throws: (any Error).self) { try f.execute(statement) }
            #expect(String(describing: error).contains("append-only"), "\(String(describing: error))")
        }
        #expect(try f.vault.verifyAudit().ok)
    }
}

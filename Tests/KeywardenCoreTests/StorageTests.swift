import Foundation
import GRDB
import Testing
@testable import KeywardenCore
import KeywardenTestSupport

@Suite("Storage: SQLite file, settings, migrations, constraints")
struct StorageTests {
    @Test("a new vault records its migrations and runs in WAL with synchronous=FULL and foreign keys")
    func settings() throws {
        let f = try VaultFixture()
        // In order, every file listed.
        let applied = try f.vault.database.appliedMigrations()
        #expect(applied == ["0001_initial", "0002_agent_tokens", "0003_rotation", "0004_row_macs", "0005_revoke_timeout", "0006_agent", "0007_provider_insecure", "0008_gateway"])
        let (journal, synchronous, foreignKeys) = try f.vault.database.writer.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(journal == "wal")
        #expect(synchronous == 2)
        #expect(foreignKeys == 1)
        // The writer is the connection whose commits must be synced (GRDB's
        // pool turns it to NORMAL when it enables WAL; the vault sets FULL back).
        let writerSynchronous = try f.vault.database.writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
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

    @Test("a vault written by a newer schema is refused, unchanged")
    func newerSchema() throws {
        let f = try VaultFixture()
        try f.raw().write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')") }
        let error = #expect(throws: KeywardenError.self) { try VaultDatabase.open(at: f.location) }
        #expect(error?.kind == .integrity)
        #expect(error?.message.contains("newer Keywarden") == true)
        #expect(error?.message.contains("9999_from_the_future") == true)
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
        try f.vault.database.writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
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
        try f.vault.database.writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        let (root, pageSize) = try f.vault.database.writer.read { db in
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

    @Test("the schema allows one active key per provider and scope")
    func oneActiveKey() throws {
        let f = try VaultFixture()
        let first = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        #expect(first.key.state == .active)
        let error = #expect(throws: DatabaseError.self) {
            try f.raw().write { db in
                try db.execute(sql: """
                    INSERT INTO keys (id, provider, scope, label, env, state, version, nonce, ciphertext, hint, fingerprint, created_at, updated_at)
                    SELECT 'k_second', provider, scope, 'other', env, 'active', 1, nonce, ciphertext, hint, substr(fingerprint, 2) || 'x', created_at, updated_at FROM keys
                    """)
            }
        }
        #expect(error?.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE)
    }

    @Test("the schema refuses a key in an unknown scope and a second config entry of one name")
    func foreignKeysAndUniqueNames() throws {
        let f = try VaultFixture()
        _ = try f.vault.setConfig(scope: "prod", name: "BASE_URL", value: secret("https://x"), secret: false)
        #expect(throws: DatabaseError.self) {
            try f.raw().write { db in
                try db.execute(sql: "PRAGMA foreign_keys = ON")
                try db.execute(sql: "INSERT INTO config_entries SELECT 'c_other', 'nowhere', name, secret, version, nonce, ciphertext, created_at, updated_at FROM config_entries")
            }
        }
        #expect(throws: DatabaseError.self) {
            try f.raw().write { db in
                try db.execute(sql: "INSERT INTO config_entries SELECT 'c_other', scope, name, secret, version, nonce, ciphertext, created_at, updated_at FROM config_entries")
            }
        }
    }

    @Test("audit events cannot be updated or deleted through SQL")
    func appendOnly() throws {
        let f = try VaultFixture()
        #expect(throws: DatabaseError.self) { try f.raw().write { db in try db.execute(sql: "UPDATE audit_events SET detail = 'x'") } }
        #expect(throws: DatabaseError.self) { try f.raw().write { db in try db.execute(sql: "DELETE FROM audit_events") } }
        #expect(try f.vault.verifyAudit().ok)
    }
}

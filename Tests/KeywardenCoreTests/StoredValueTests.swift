import Foundation
import GRDB
import Testing
@testable import KeywardenCore
import KeywardenCrypto

/// Records are typed (states and outcomes as enums, times as `Timestamp`s,
/// JSON columns as Codable values), and a stored value the code does not
/// understand is an integrity error naming the row and the column — never a
/// default such as `failed`, the epoch or an empty grant.
@Suite("Stored values: typed records, and values the code does not understand")
struct StoredValueTests {
    /// Runs SQL on the file as `sqlite3` would (or on the PostgreSQL
    /// database as its superuser would), past the schema's CHECK constraints
    /// (a newer version's value, or a hand edit). PostgreSQL cannot ignore
    /// them: they are dropped, as a newer schema could have dropped them.
    func rawSQL(_ f: VaultFixture, _ sql: String, _ arguments: [String] = []) throws {
        switch f.backend {
        case .sqlite:
            try f.raw().writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
                try db.execute(sql: sql, arguments: StatementArguments(arguments))
            }
        case .postgres:
            var statement = ""
            var remaining = arguments[...]
            for character in sql {
                if character == "?", let argument = remaining.popFirst() {
                    statement += "'" + argument.replacingOccurrences(of: "'", with: "''") + "'"
                } else {
                    statement.append(character)
                }
            }
            try #require(remaining.isEmpty, "more arguments than placeholders")
            try f.execute("""
                DO $$ DECLARE c record; BEGIN
                    FOR c IN SELECT conrelid::regclass::text AS t, conname FROM pg_constraint WHERE contype = 'c' AND connamespace = current_schema()::regnamespace LOOP
                        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.t, c.conname);
                    END LOOP;
                END $$;
                \(statement)
                """)
        }
    }

    /// Gives every row the MAC of its values, as a Keywarden that holds the
    /// key would: what a newer version writing a value this one does not
    /// know looks like. The row's MAC then matches and the decoder decides.
    func resign(_ f: VaultFixture) throws {
        switch f.backend {
        case .sqlite: try f.raw().write { db in _ = try SQLiteRowMACs.authenticateEveryRow(db, with: f.vault.rows(.verify)) }
        case .postgres: _ = try f.vault.store.write(f.vault.rows(.verify), observer: nil) { tx in try tx.authenticateEveryRow() }
        }
    }

    /// Expects `body` to throw an integrity error (exit 4) naming `row` and `column`.
    func expectUnreadable(_ row: String, column: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        let error = #expect(throws: KeywardenError.self, sourceLocation: sourceLocation) { try body() }
        #expect(error?.kind == .integrity, sourceLocation: sourceLocation)
        #expect(error?.exitCode == 4, sourceLocation: sourceLocation)
        #expect(error?.message.contains(row) == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
        #expect(error?.message.contains("its \(column) column") == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
    }

    /// The same check for work that is async (a rotation's vault calls go through its runner).
    func expectUnreadable(_ row: String, column: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
        let error = await #expect(throws: KeywardenError.self, sourceLocation: sourceLocation) { try await body() }
        #expect(error?.kind == .integrity, sourceLocation: sourceLocation)
        #expect(error?.exitCode == 4, sourceLocation: sourceLocation)
        #expect(error?.message.contains(row) == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
        #expect(error?.message.contains("its \(column) column") == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
    }

    func addKey(_ f: VaultFixture) throws -> KeyInfo {
        try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false).key
    }

    @Test("an unknown last outcome (a column the row MAC leaves out) is an integrity error naming the key and the column", arguments: TestBackend.available)
    func unknownOutcome(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let key = try addKey(f)
        try rawSQL(f, "UPDATE keys SET last_outcome = 'exploded' WHERE id = ?", [key.id])
        expectUnreadable("key \(key.id) (anthropic/prod)", column: "last_outcome") { _ = try f.vault.listKeys(KeyFilter()) }
        expectUnreadable("key \(key.id) (anthropic/prod)", column: "last_outcome") { _ = try f.vault.key(id: key.id) }
        expectUnreadable("key \(key.id) (anthropic/prod)", column: "last_outcome") { _ = try f.vault.revealKey(id: key.id) }
    }

    @Test("a garbled check time is an integrity error, not the epoch", arguments: TestBackend.available)
    func garbledCheckTime(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let key = try addKey(f)
        for garbled in ["yesterday", "2026-13-45T99:99:99.000Z", "2026-01-01 12:00:00.000Z", "1767225600"] {
            try rawSQL(f, "UPDATE keys SET last_checked_at = ? WHERE id = ?", [garbled, key.id])
            expectUnreadable("key \(key.id) (anthropic/prod)", column: "last_checked_at") { _ = try f.vault.key(id: key.id) }
        }
        try rawSQL(f, "UPDATE keys SET last_checked_at = 1767225600 WHERE id = ?", [key.id])
        expectUnreadable("key \(key.id) (anthropic/prod)", column: "last_checked_at") { _ = try f.vault.key(id: key.id) }
        try rawSQL(f, "UPDATE keys SET last_checked_at = NULL WHERE id = ?", [key.id])
        #expect(try f.vault.key(id: key.id).checkedAt == nil)
    }

    @Test("a token's garbled last use is an integrity error naming the token", arguments: TestBackend.available)
    func tokenLastUsed(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let (token, _) = try f.vault.createToken(name: "ci", scopes: ["dev"], providers: [], ttl: nil)
        try rawSQL(f, "UPDATE agent_tokens SET last_used_at = 'soon'")
        expectUnreadable("token 'ci' (\(token.id))", column: "last_used_at") { _ = try f.vault.listTokens() }
    }

    @Test("a rotation row with an unknown trigger or step, or a garbled start, is an integrity error naming the rotation; nothing acts on it", arguments: TestBackend.available)
    func rotationRow(backend: TestBackend) async throws {
        let f = try VaultFixture(backend: backend)
        let key = try addKey(f)
        let rotator = Rotator(vault: f.vault, validator: Validator(client: ProbeClient(proxies: ProxySettings(environment: [:]))))
        try rawSQL(f, """
            INSERT INTO rotations (id, provider, scope, old_key_id, trigger, step, started_at, updated_at)
            VALUES ('r_odd', 'anthropic', 'prod', ?, 'cosmic-ray', 'test', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
            """, [key.id])
        expectUnreadable("rotation r_odd (anthropic/prod)", column: "trigger") { _ = try rotator.plan(.due, reexport: false) }
        try rawSQL(f, "UPDATE rotations SET trigger = 'manual', started_at = 'soon'")
        expectUnreadable("rotation r_odd (anthropic/prod)", column: "started_at") { _ = try rotator.plan(.due, reexport: false) }
        try rawSQL(f, "UPDATE rotations SET started_at = updated_at, step = 'half-done'")
        await expectUnreadable("rotation r_odd (anthropic/prod)", column: "step") { _ = try await rotator.rollBack("r_odd") }
        #expect(try f.vault.key(id: key.id).state == .active)
    }

    @Test("an audit event whose time is not in the stored form is an integrity error naming it, and is not sealed", arguments: TestBackend.available)
    func auditTime(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        // The chain hashes `at` as stored: only the exact form decodes.
        try rawSQL(f, """
            INSERT INTO audit_events (seq, at, actor_uid, actor_pid, actor, action, outcome)
            SELECT MAX(seq) + 1, '2026-01-01T00:00:00Z', 1000, 1, 'keywarden', 'vault.unlock', 'denied' FROM audit_events
            """)
        let maxSeq = try f.value("SELECT MAX(seq) FROM audit_events")
        let seq = try #require(maxSeq.flatMap { Int64($0) })
        expectUnreadable("audit event #\(seq)", column: "at") { _ = try f.vault.auditEvents(AuditFilter()) }
        expectUnreadable("audit event #\(seq)", column: "at") { try f.vault.recordAudit(AuditDraft(action: "test.event", outcome: "ok")) }
        #expect(try f.value("SELECT hash FROM audit_events WHERE seq = \(seq)") == nil)
    }

    @Test("a key state this version does not know, under a valid MAC, is an integrity error naming the key — not a failed key", arguments: TestBackend.available)
    func unknownStateWithValidMAC(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let key = try addKey(f)
        try rawSQL(f, "UPDATE keys SET state = 'quarantined' WHERE id = ?", [key.id])
        try resign(f)
        expectUnreadable("key \(key.id) (anthropic/prod)", column: "state") { _ = try f.vault.listKeys(KeyFilter()) }
        expectUnreadable("key \(key.id) (anthropic/prod)", column: "state") { _ = try f.vault.activateKey(id: key.id) }
        let error = #expect(throws: KeywardenError.self) { _ = try f.vault.key(id: key.id) }
        #expect(error?.message.contains("changed outside Keywarden (") == false, "the MAC matched: the decoder refused it")
        #expect(error?.message.contains("quarantined") == true)
    }

    @Test("a scope's garbled creation time, under a valid MAC, is an integrity error naming the scope", arguments: TestBackend.available)
    func scopeTimeWithValidMAC(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        try rawSQL(f, "UPDATE scopes SET created_at = 'the dawn of time' WHERE name = 'dev'")
        try resign(f)
        expectUnreadable("scope 'dev'", column: "created_at") { _ = try f.vault.listScopes() }
    }

    @Test("unreadable JSON under a valid MAC — a custom provider's definition, a token's grant — is an integrity error naming the row", arguments: TestBackend.available)
    func jsonWithValidMAC(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        var custom = try #require(BuiltinProviders.named("openai"))
        custom.name = "inhouse"
        custom.displayName = "In-house"
        custom.env = "INHOUSE_API_KEY"
        try f.vault.addProvider(custom)
        let (token, value) = try f.vault.createToken(name: "ci", scopes: ["dev"], providers: [], ttl: nil)
        try rawSQL(f, "UPDATE providers SET definition = '{\"name\": 1}' WHERE name = 'inhouse'")
        try rawSQL(f, "UPDATE agent_tokens SET scopes = '\"dev\"'")
        try resign(f)
        expectUnreadable("provider 'inhouse'", column: "definition") { _ = try f.vault.providers() }
        expectUnreadable("provider 'inhouse'", column: "definition") { _ = try f.vault.provider(named: "inhouse") }
        expectUnreadable("token 'ci' (\(token.id))", column: "scopes") { _ = try f.vault.authenticate(token: value) }
    }

    @Test("typed records store exactly the text they stored before they were typed (the file format does not change)", arguments: TestBackend.available)
    func storedForms(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let key = try addKey(f)
        _ = try f.vault.report(KeyReport(keyID: key.id, status: 401), by: AuditActor(uid: 1, pid: 2, name: "test"))
        _ = try f.vault.setConfig(scope: "prod", name: "BASE_URL", value: secret("https://x"), secret: false)
        _ = try f.vault.addScope("team/app", parent: "prod")
        _ = try f.vault.createToken(name: "ci", scopes: ["team/app", "dev"], providers: ["anthropic"], config: ["*"], ttl: DurationSpec(seconds: 60))
        try f.vault.rememberExport(path: f.directory.file("a.env"), scope: "prod", format: .shell, only: ["A", "B"])
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(failover: true))
        var custom = try #require(BuiltinProviders.named("openai"))
        custom.name = "inhouse"
        custom.baseURL = "https://llm.example.com/v1"
        try f.vault.addProvider(custom)

        let time = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/#
        let timesQuery = """
            SELECT created_at FROM vault UNION ALL SELECT created_at FROM keyslots UNION ALL SELECT created_at FROM scopes
            UNION ALL SELECT created_at FROM keys UNION ALL SELECT updated_at FROM keys UNION ALL SELECT activated_at FROM keys
            UNION ALL SELECT last_checked_at FROM keys UNION ALL SELECT updated_at FROM config_entries UNION ALL SELECT created_at FROM agent_tokens
            UNION ALL SELECT expires_at FROM agent_tokens UNION ALL SELECT updated_at FROM exported_files UNION ALL SELECT updated_at FROM rotation_policies
            UNION ALL SELECT updated_at FROM providers UNION ALL SELECT at FROM audit_events
            """
        if backend == .postgres {
            // The same text in the same columns, so rows (and their MACs) are the same on both backends.
            let times = try f.postgres!.psql(timesQuery).split(separator: "\n").map(String.init)
            #expect(times.count > 14)
            for text in times { #expect(text.wholeMatch(of: time) != nil, "\(text)") }
            #expect(try f.value("SELECT state || '|' || last_outcome || '|' || pg_typeof(version) FROM keys") == "active|invalid|bigint")
            #expect(try f.value("SELECT kind FROM keyslots") == "keyfile")
            #expect(try f.value("SELECT scopes FROM agent_tokens") == String(decoding: try JSONEncoder().encode(["team/app", "dev"]), as: UTF8.self))
            #expect(try f.value("SELECT providers FROM agent_tokens") == "[\"anthropic\"]")
            #expect(try f.value("SELECT config FROM agent_tokens") == "[\"*\"]")
            #expect(try f.value("SELECT format || '|' || \"only\" FROM exported_files") == "shell|A,B")
            #expect(try f.value("SELECT pg_typeof(failover) || ':' || failover FROM rotation_policies") == "bigint:1")
            #expect(try f.value("SELECT pg_typeof(secret) || ':' || secret FROM config_entries") == "bigint:0")
            #expect(try f.value("SELECT definition FROM providers WHERE name = 'inhouse'") == String(decoding: try JSONEncoder.sorted.encode(custom), as: UTF8.self))
        } else {
            try f.raw().read { db in
                let times = try String.fetchAll(db, sql: timesQuery)
                #expect(times.count > 14)
                for text in times { #expect(text.wholeMatch(of: time) != nil, "\(text)") }
                let row = try #require(try Row.fetchOne(db, sql: "SELECT state, last_outcome, typeof(version) AS v FROM keys"))
                #expect(row["state"] as String == "active")
                #expect(row["last_outcome"] as String == "invalid")
                #expect(row["v"] as String == "integer")
                #expect(try String.fetchOne(db, sql: "SELECT kind FROM keyslots") == "keyfile")
                let grant = try #require(try Row.fetchOne(db, sql: "SELECT scopes, providers, config FROM agent_tokens"))
                #expect(grant["scopes"] as String == String(decoding: try JSONEncoder().encode(["team/app", "dev"]), as: UTF8.self))
                #expect(grant["providers"] as String == "[\"anthropic\"]")
                #expect(grant["config"] as String == "[\"*\"]")
                let file = try #require(try Row.fetchOne(db, sql: "SELECT format, only FROM exported_files"))
                #expect(file["format"] as String == "shell")
                #expect(file["only"] as String == "A,B")
                #expect(try String.fetchOne(db, sql: "SELECT typeof(failover) || ':' || failover FROM rotation_policies") == "integer:1")
                #expect(try String.fetchOne(db, sql: "SELECT typeof(secret) || ':' || secret FROM config_entries") == "integer:0")
                let definition = try #require(try String.fetchOne(db, sql: "SELECT definition FROM providers WHERE name = 'inhouse'"))
                #expect(definition == String(decoding: try JSONEncoder.sorted.encode(custom), as: UTF8.self))
            }
        }
        // And they read back as they were written.
        #expect(try f.vault.provider(named: "inhouse") == custom)
        #expect(try f.vault.listTokens().first?.scopes == ["team/app", "dev"])
        #expect(try f.vault.key(id: key.id).outcome == "invalid")
    }

    @Test("a stored time parses only in the form Keywarden writes")
    func storedTimeForm() {
        #expect(Timestamp(stored: "2026-11-21T19:45:01.123Z")?.iso8601 == "2026-11-21T19:45:01.123Z")
        #expect(Timestamp(stored: "2026-11-21T19:45:01Z")?.iso8601 == "2026-11-21T19:45:01.000Z")
        for bad in ["2026-13-21T19:45:01.123Z", "2026-02-30T19:45:01.123Z", "2026-11-21 19:45:01.123Z", "2026-11-21T19:45:61.123Z",
                    "2026/11/21T19:45:01.123Z", "", "2026-11-21T19:45:01.123", "2026-11-21T19:45:01.1234Z"] {
            #expect(Timestamp(stored: bad) == nil, "\(bad)")
        }
    }
}

import Foundation
import KeywardenTestSupport
import Testing

/// "Teams and fleets: the same vault on PostgreSQL": a vault file moved to
/// PostgreSQL (`storage copy`) and hosts enrolled with a keyfile slot each
/// (`keyslot add --for HOST`), through the built binary.
@Suite("End to end: teams and fleets on PostgreSQL")
struct PostgresFleetTests {
    /// The keywarden tables' row counts in `db`, for "nothing changed".
    static func rowCounts(_ db: PostgresTestDatabase) throws -> String {
        try db.psql("""
            SELECT (SELECT COUNT(*) FROM vault), (SELECT COUNT(*) FROM keyslots), (SELECT COUNT(*) FROM keys),
                   (SELECT COUNT(*) FROM config_entries), (SELECT COUNT(*) FROM audit_events)
            """)
    }

    /// The server part of a test database's URL as `redacted` shows it: `postgres://kwtest@127.0.0.1:PORT/NAME`.
    static func shown(_ db: PostgresTestDatabase) -> String {
        let components = URLComponents(string: db.url)!
        return "postgres://\(components.user!)@\(components.host!):\(components.port ?? 5432)/\(db.name)"
    }

    @Test("storage copy moves a vault file with keys, config, a token, a policy and its history; the copy answers as the file did, the file is unchanged",
          .enabled(if: PostgresTestDatabase.isAvailable))
    func copyAnswersTheSame() throws {
        let db = try PostgresTestDatabase()
        let cli = CLIHarness()
        try cli.initVault()
        let anthropic = FakeKeys.anthropic(), openai = FakeKeys.openai(), gemini = FakeKeys.gemini()
        let anthropicID = try cli.addKey("anthropic", scope: "prod", value: anthropic)
        _ = try cli.addKey("openai", scope: "prod", value: openai, extra: ["--label", "ci"])
        _ = try cli.addKey("gemini", scope: "dev", value: gemini)
        let dbURL = "postgres://app:s3cret-db-password@db.internal/app"
        try cli.ok(["config", "set", "ANTHROPIC_BASE_URL", "https://gateway.internal/anthropic", "--scope", "prod"])
        try cli.ok(["config", "set", "DATABASE_URL", "--secret", "--scope", "prod"], stdin: dbURL + "\n")
        try cli.ok(["scope", "add", "team/app", "--parent", "prod"])
        let token = try cli.ok(["token", "create", "web", "--scope", "prod", "--ttl", "30d"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--every", "30d", "--failover", "on"])
        try cli.ok(["keyslot", "add", "--for", "web-1", "--keyfile-out", cli.directory.file("web-1.keyfile")])
        // A failed unlock, sealed by the next write: a recorded-locked event inside the chain.
        #expect(try cli.run(["key", "list"], env: ["KEYWARDEN_KEYFILE": cli.directory.file("missing.key")]).status == 3)
        try cli.ok(["key", "show", anthropicID, "--reveal"])

        // What the file answers, before.
        let keysBefore = try cli.ok(["key", "list", "--json"]).out
        let tokensBefore = try cli.ok(["token", "list", "--json"]).out
        let policiesBefore = try cli.ok(["rotate", "policy", "list", "--json"]).out
        let configBefore = try cli.ok(["config", "list", "--scope", "team/app", "--json"]).out
        let exportBefore = try cli.ok(["export", "--scope", "prod"]).out
        let verifyBefore = try cli.json(try cli.ok(["audit", "verify", "--json"])) as! [String: Any]
        #expect(verifyBefore["ok"] as? Bool == true)
        let eventsBefore = try cli.json(try cli.ok(["audit", "--json"])) as! [[String: Any]]
        let fileBefore = FileManager.default.contents(atPath: cli.databasePath)

        let copied = try cli.run(["storage", "copy", "--to", db.url])
        #expect(copied.status == 0, "storage copy: \(copied.err)")
        let first = copied.out.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first == "Copied 3 keys, 2 config entries, \(eventsBefore.count) audit events (chain verified before and after) to \(Self.shown(db))",
                "got: \(copied.out)")
        #expect(copied.out.contains("export KEYWARDEN_DATABASE_URL=\(Self.shown(db).replacingOccurrences(of: ":5432", with: ""))"))
        #expect(FileManager.default.contents(atPath: cli.databasePath) == fileBefore, "the vault file is byte for byte as it was")

        // The copy, as every command on any host sees it.
        let onPostgres: [String: String?] = ["KEYWARDEN_DATABASE_URL": db.url]
        let verifyAfter = try cli.json(try cli.ok(["audit", "verify", "--json"], env: onPostgres)) as! [String: Any]
        #expect(verifyAfter["ok"] as? Bool == true)
        // Every event of the file, then the copy's own storage.copy event.
        #expect(verifyAfter["checked"] as? Int == (verifyBefore["checked"] as! Int) + 1)
        let eventsAfter = try cli.json(try cli.ok(["audit", "--json"], env: onPostgres)) as! [[String: Any]]
        #expect(eventsAfter.count == eventsBefore.count + 1)
        for (before, after) in zip(eventsBefore, eventsAfter) {
            let same = try JSONSerialization.data(withJSONObject: before, options: .sortedKeys) == JSONSerialization.data(withJSONObject: after, options: .sortedKeys)
            #expect(same, "event #\(before["seq"] ?? "?") is the same in the copy")
        }
        let copyEvent = try #require(eventsAfter.last)
        #expect(copyEvent["action"] as? String == "storage.copy")
        #expect((copyEvent["detail"] as? String)?.hasPrefix("copied from \(cli.databasePath) at event #\(eventsBefore.count): 3 keys, 2 config entries") == true)
        #expect(try cli.ok(["key", "list", "--json"], env: onPostgres).out == keysBefore)
        #expect(try cli.ok(["token", "list", "--json"], env: onPostgres).out == tokensBefore)
        #expect(try cli.ok(["rotate", "policy", "list", "--json"], env: onPostgres).out == policiesBefore)
        #expect(try cli.ok(["config", "list", "--scope", "team/app", "--json"], env: onPostgres).out == configBefore)
        #expect(try cli.ok(["export", "--scope", "prod"], env: onPostgres).out == exportBefore)
        #expect(exportBefore.contains(anthropic) && exportBefore.contains(dbURL))
        #expect(try cli.ok(["audit", "verify"], env: onPostgres).out.hasPrefix("Audit trail intact"))
        // The host slot came along: web-1's keyfile opens the copy.
        try cli.ok(["status"], env: ["KEYWARDEN_DATABASE_URL": db.url, "KEYWARDEN_KEYFILE": cli.directory.file("web-1.keyfile")])
        // A keyslot added now is numbered past the copied ones.
        let next = try cli.ok(["keyslot", "add", "keyfile", cli.directory.file("third.key")], env: onPostgres)
        #expect(next.out.hasPrefix("Added keyslot 3 "), "got: \(next.out)")

        // A second copy into the same database is refused and changes nothing.
        let counts = try Self.rowCounts(db)
        let again = try cli.run(["storage", "copy", "--to", db.url])
        #expect(again.status == 2)
        #expect(again.err.contains("already holds this vault"), "got: \(again.err)")
        #expect(try Self.rowCounts(db) == counts)
        #expect(FileManager.default.contents(atPath: cli.databasePath) == fileBefore)

        // No value in the clear in the database; gemini's (never revealed or
        // exported) in no output and not in the audit either.
        let dump = try db.psql("SELECT * FROM keys; SELECT * FROM config_entries; SELECT * FROM agent_tokens; SELECT * FROM audit_events")
        for secret in [anthropic, openai, gemini, dbURL, token] { #expect(!dump.contains(secret), "a value is in the database in the clear") }
        cli.secrets = [gemini]
        try cli.expectNoSecretLeaked()
    }

    @Test("storage copy refuses a broken audit chain, a database that is not empty and a source already on PostgreSQL; nothing is written",
          .enabled(if: PostgresTestDatabase.isAvailable))
    func copyRefusals() throws {
        let db = try PostgresTestDatabase()
        let cli = CLIHarness()
        try cli.initVault()
        _ = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic())
        try cli.ok(["scope", "add", "qa"])

        // The source already on PostgreSQL: the same database, or another.
        let same = try cli.run(["storage", "copy", "--to", db.url], env: ["KEYWARDEN_DATABASE_URL": db.url])
        #expect(same.status == 2)
        #expect(same.err.contains("the source and the target are the same database"), "got: \(same.err)")
        let other = try cli.run(["storage", "copy", "--to", db.url], env: ["KEYWARDEN_DATABASE_URL": db.url + "x"])
        #expect(other.status == 2)
        #expect(other.err.contains("is on PostgreSQL already"), "got: \(other.err)")

        // A database holding another program's tables.
        try db.psql("CREATE TABLE orders (id int)")
        let foreign = try cli.run(["storage", "copy", "--to", db.url])
        #expect(foreign.status == 2)
        #expect(foreign.err.contains("holds other tables (orders)"), "got: \(foreign.err)")
        try db.psql("DROP TABLE orders")

        // Someone with the file edits an event past the append-only trigger.
        _ = try cli.sqlite("DROP TRIGGER audit_events_append_only_update; UPDATE audit_events SET detail = 'edited' WHERE seq = 2;")
        let fileBefore = FileManager.default.contents(atPath: cli.databasePath)
        let broken = try cli.run(["storage", "copy", "--to", db.url])
        #expect(broken.status == 4)
        #expect(broken.err.contains("never copies a broken chain") && broken.err.contains("event #2 was altered"), "got: \(broken.err)")
        #expect(try db.psql("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()") == "0", "no table was created")
        #expect(FileManager.default.contents(atPath: cli.databasePath) == fileBefore)
        try cli.expectNoSecretLeaked()
    }

    @Test("a copy that fails halfway leaves no row behind; the empty tables it leaves take the next copy; a database with a vault is refused",
          .enabled(if: PostgresTestDatabase.isAvailable))
    func copyIsAllOrNothing() throws {
        let db = try PostgresTestDatabase()
        let cli = CLIHarness()
        try cli.initVault()
        _ = try cli.addKey("openai", scope: "dev", value: FakeKeys.openai())
        try cli.ok(["config", "set", "APP_MODE", "fast", "--scope", "dev"])

        // Keywarden's tables, migrated and empty, as an `init` that failed
        // after creating them leaves a database.
        let other = CLIHarness()
        try other.ok(["init", "--keyfile", other.keyfile], env: ["KEYWARDEN_DATABASE_URL": db.url])
        try db.psql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        try db.psql("DELETE FROM audit_events; DELETE FROM keyslots; DELETE FROM scopes; DELETE FROM vault")
        try db.psql("ALTER TABLE audit_events ENABLE TRIGGER USER")
        // The database fails the audit events' insert, after every other table's rows went in.
        try db.psql("""
            CREATE FUNCTION fail_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
            CREATE TRIGGER fail_copy BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_copy();
            """)
        let failed = try cli.run(["storage", "copy", "--to", db.url])
        #expect(failed.status == 1)
        #expect(failed.err.contains("copying the audit_events rows failed") && failed.err.contains("injected failure"), "got: \(failed.err)")
        #expect(try Self.rowCounts(db) == "0|0|0|0|0", "nothing was left behind")

        try db.psql("DROP TRIGGER fail_copy ON audit_events")
        let copied = try cli.run(["storage", "copy", "--to", db.url])
        #expect(copied.status == 0, "storage copy: \(copied.err)")
        #expect(try cli.ok(["key", "list"], env: ["KEYWARDEN_DATABASE_URL": db.url]).out.contains("sk-proj-"))
        #expect(try cli.ok(["config", "get", "APP_MODE", "--scope", "dev"], env: ["KEYWARDEN_DATABASE_URL": db.url]).out.hasPrefix("fast"))

        // The other vault's file cannot go where this one now is.
        let otherFile = CLIHarness()
        try otherFile.initVault()
        let refused = try otherFile.run(["storage", "copy", "--to", db.url])
        #expect(refused.status == 2)
        #expect(refused.err.contains("already holds vault "), "got: \(refused.err)")
    }

    @Test("a trial copy, then the real one: the file still verifies after a copy, until the copy is used from this machine",
          .enabled(if: PostgresTestDatabase.isAvailable))
    func trialThenReal() throws {
        let trial = try PostgresTestDatabase(), real = try PostgresTestDatabase(), late = try PostgresTestDatabase()
        let cli = CLIHarness()
        try cli.initVault()
        _ = try cli.addKey("groq", scope: "dev", value: FakeKeys.groq())
        try cli.ok(["storage", "copy", "--to", trial.url])
        #expect(try cli.ok(["audit", "verify"]).out.hasPrefix("Audit trail intact"), "the copy does not move this machine's anchor")
        try cli.ok(["storage", "copy", "--to", real.url])

        // The copy used from this machine: its head is anchored, the file is now behind it.
        try cli.ok(["audit", "verify"], env: ["KEYWARDEN_DATABASE_URL": real.url])
        let behind = try cli.run(["audit", "verify"])
        #expect(behind.status == 4)
        let refused = try cli.run(["storage", "copy", "--to", late.url])
        #expect(refused.status == 4)
        #expect(refused.err.contains("use the copy, or, to copy the file again") && refused.err.contains(".anchor aside"), "got: \(refused.err)")
        #expect(try late.psql("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()") == "0")
    }

    @Test("a password in --to is refused before anything is opened, naming where it belongs and never showing it")
    func passwordInArgv() throws {
        let cli = CLIHarness()
        try cli.initVault()
        let result = try cli.run(["storage", "copy", "--to", "postgres://kw:hunter2-secret@db.internal/vault"])
        #expect(result.status == 2)
        #expect(result.err.contains("KEYWARDEN_DATABASE_PASSWORD"), "got: \(result.err)")
        #expect(!result.err.contains("hunter2-secret") && !result.out.contains("hunter2-secret"))
        let file = try cli.run(["storage", "copy", "--to", cli.directory.file("other.db")])
        #expect(file.status == 2)
        #expect(file.err.contains("is not a postgres:// URL"))
    }

    @Test("keyslot add --for web-3 on a PostgreSQL vault: the host unlocks with only its keyfile and reads the key, until keyslot remove host:web-3",
          .enabled(if: PostgresTestDatabase.isAvailable))
    func enrollAndRevokeHost() throws {
        let db = try PostgresTestDatabase()
        let cli = CLIHarness()
        cli.environment["KEYWARDEN_DATABASE_URL"] = db.url
        try cli.initVault()
        let value = FakeKeys.anthropic("h")
        let id = try cli.addKey("anthropic", scope: "prod", value: value)

        let work = cli.directory.file("work")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let enrolled = try CommandRunner.run(CommandRunner.keywardenBinary, ["keyslot", "add", "--for", "web-3"], environment: cli.environment,
                                             currentDirectory: work)
        #expect(enrolled.status == 0, "keyslot add --for: \(enrolled.err)")
        let keyfile = work + "/web-3.keyfile"
        #expect(SecureMode.of(keyfile) == 0o600)
        #expect(enrolled.out.hasPrefix("Added keyslot 2 'host:web-3' (keyfile, ./web-3.keyfile, mode 0600).\n"), "got: \(enrolled.out)")
        let line = "  KEYWARDEN_DATABASE_URL=\(Self.shown(db)) KEYWARDEN_KEYFILE=/etc/keywarden/web-3.keyfile keywarden serve\n"
        #expect(enrolled.out.contains(line), "got: \(enrolled.out)")
        #expect(enrolled.out.contains("keywarden keyslot remove host:web-3"))

        let slots = try cli.json(try cli.ok(["keyslot", "list", "--json"])) as! [[String: Any]]
        #expect(slots.compactMap { $0["label"] as? String } == ["keyfile-1", "host:web-3"])
        let events = try cli.json(try cli.ok(["audit", "--action", "keyslot.add", "--json"])) as! [[String: Any]]
        #expect(events.last?["detail"] as? String == "keyfile slot 2 'host:web-3': host web-3 enrolled")

        // The new host: its own HOME, no vault file, nothing but the URL and its keyfile.
        let hostHome = cli.directory.file("web-3-home")
        try FileManager.default.createDirectory(atPath: hostHome, withIntermediateDirectories: true)
        let host: [String: String] = [
            "PATH": cli.environment["PATH"]!, "HOME": hostHome, "LANG": "C.UTF-8", "KEYWARDEN_SOCKET": hostHome + "/agent.sock",
            "KEYWARDEN_DATABASE_URL": db.url, "KEYWARDEN_KEYFILE": keyfile,
        ]
        let read = try CommandRunner.run(CommandRunner.keywardenBinary, ["key", "show", id, "--reveal"], environment: host)
        #expect(read.status == 0, "the host reads the key: \(read.err)")
        #expect(read.stdout == Array(value.utf8))

        // Enrolling again: refused, and an existing file is never overwritten.
        let twice = try cli.run(["keyslot", "add", "--for", "web-3", "--keyfile-out", cli.directory.file("again.keyfile")])
        #expect(twice.status == 2)
        #expect(twice.err.contains("already labelled 'host:web-3'"), "got: \(twice.err)")
        #expect(!FileManager.default.fileExists(atPath: cli.directory.file("again.keyfile")))
        let keyfileBytes = FileManager.default.contents(atPath: keyfile)
        let overwrite = try cli.run(["keyslot", "add", "--for", "web-4", "--keyfile-out", keyfile])
        #expect(overwrite.status == 2)
        #expect(overwrite.err.contains("already exists"), "got: \(overwrite.err)")
        #expect(FileManager.default.contents(atPath: keyfile) == keyfileBytes)
        #expect((try cli.json(try cli.ok(["keyslot", "list", "--json"])) as! [[String: Any]]).count == 2, "no slot was added")
        for bad in ["-web", "web/3", "web 3", "", String(repeating: "a", count: 60), "wéb"] {
            let result = try cli.run(["keyslot", "add", "--for", bad, "--keyfile-out", cli.directory.file("bad.keyfile")])
            #expect(result.status == 2 || result.status == 64, "--for '\(bad)' exited \(result.status)")
            #expect(!FileManager.default.fileExists(atPath: cli.directory.file("bad.keyfile")))
        }

        // Revoked: the host's keyfile no longer opens the vault.
        let removed = try cli.ok(["keyslot", "remove", "host:web-3"])
        #expect(removed.out.hasPrefix("Removed keyslot 2 (keyfile, 'host:web-3')"), "got: \(removed.out)")
        let after = try CommandRunner.run(CommandRunner.keywardenBinary, ["key", "show", id, "--reveal"], environment: host)
        #expect(after.status == 3)
        #expect(after.err.contains("does not open any keyfile slot"), "got: \(after.err)")
        #expect(after.stdout.isEmpty)
        let removedEvents = try cli.json(try cli.ok(["audit", "--action", "keyslot.remove", "--json"])) as! [[String: Any]]
        #expect(removedEvents.last?["detail"] as? String == "keyfile slot 2 'host:web-3'")
        #expect(try cli.run(["keyslot", "remove", "host:web-3"]).status == 2, "removing it twice: not found")
        try cli.expectNoSecretLeaked()
    }

    @Test("keyslot add --for and keyslot remove by label work on a vault file too", arguments: CLIMode.allCases)
    func enrollOnFile(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        let keyfile = cli.directory.file("ci-runner.keyfile")
        let enrolled = try cli.ok(["keyslot", "add", "--for", "ci-runner", "--keyfile-out", keyfile])
        #expect(enrolled.out.contains("  KEYWARDEN_HOME=\(cli.home) KEYWARDEN_KEYFILE=/etc/keywarden/ci-runner.keyfile keywarden serve\n"), "got: \(enrolled.out)")
        #expect(enrolled.out.contains("storage copy --to postgres://"))
        #expect(SecureMode.of(keyfile) == 0o600)
        var direct = cli.environment
        direct["KEYWARDEN_NO_AGENT"] = "1"
        direct["KEYWARDEN_KEYFILE"] = keyfile
        #expect(try CommandRunner.run(CommandRunner.keywardenBinary, ["status"], environment: direct).status == 0, "the host's keyfile unlocks")
        let json = try cli.json(try cli.ok(["keyslot", "add", "--for", "ci-2", "--keyfile-out", cli.directory.file("ci-2.keyfile"), "--json"])) as! [String: Any]
        #expect((json["slot"] as? [String: Any])?["label"] as? String == "host:ci-2")
        #expect(json["vault_file"] as? String == cli.databasePath)
        #expect(json["database_url"] == nil)
        try cli.ok(["keyslot", "remove", "host:ci-runner"])
        #expect(try CommandRunner.run(CommandRunner.keywardenBinary, ["status"], environment: direct).status == 3)
        let missing = try cli.run(["keyslot", "remove", "host:nope"])
        #expect(missing.status == 2)
        #expect(missing.err.contains("no keyslot labelled 'host:nope'"))
        #expect(try cli.ok(["keyslot", "list"]).out.contains("host:ci-2"))
    }
}

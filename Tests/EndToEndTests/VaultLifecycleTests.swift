import Foundation
import KeywardenTestSupport
import Testing

@Suite("End to end: a user's first session with the vault")
struct VaultLifecycleTests {
    @Test("init, add keys for three providers in two scopes, list, reveal, audit, verify — then detect an edited audit row", arguments: CLIMode.allCases)
    func tour(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        let anthropic = FakeKeys.anthropic()
        let anthropicProd = try cli.addKey("anthropic", scope: "prod", value: anthropic)
        _ = try cli.addKey("openai", scope: "prod", value: FakeKeys.openai())
        _ = try cli.addKey("gemini", scope: "dev", value: FakeKeys.gemini())
        _ = try cli.addKey("anthropic", scope: "dev", value: FakeKeys.anthropic("d"), extra: ["--label", "laptop"])

        let list = try cli.ok(["key", "list"])
        for fragment in ["anthropic", "openai", "gemini", "sk-ant-api03-…aaAA", "laptop", "active"] {
            #expect(list.out.contains(fragment), "key list lacks \(fragment)")
        }
        let keys = try cli.json(try cli.ok(["key", "list", "--json"])) as! [[String: Any]]
        #expect(keys.count == 4)
        for field in ["id", "provider", "scope", "label", "env", "state", "hint", "fingerprint"] {
            #expect(keys.allSatisfy { $0[field] != nil }, "JSON lacks \(field)")
        }

        let revealed = try cli.ok(["key", "show", anthropicProd, "--reveal"])
        #expect(revealed.stdout == Array(anthropic.utf8), "a piped reveal prints the bare value")

        let audit = try cli.ok(["audit"])
        for action in ["vault.init", "key.add", "key.reveal"] { #expect(audit.out.contains(action)) }
        let keyEvents = try cli.json(try cli.ok(["audit", "--key", anthropicProd, "--json"])) as! [Any]
        #expect(keyEvents.count == 2)
        #expect(try cli.ok(["audit", "verify"]).out.contains("intact"))

        // Someone with the file edits one event past the append-only trigger.
        _ = try cli.sqlite("DROP TRIGGER audit_events_append_only_update; UPDATE audit_events SET detail = 'edited' WHERE seq = 3;")
        let broken = try cli.run(["audit", "verify"])
        #expect(broken.status == 4)
        #expect(broken.out.contains("event #3 was altered"))

        // Only the real revealed value was printed, on purpose; drop it from the
        // transcript check, which covers everything else.
        cli.secrets.removeAll { $0 == anthropic }
        try cli.expectNoSecretLeaked()
    }

    @Test("under umask 000 the vault folder is 0700 and the vault file and keyfile 0600")
    func umaskZero() throws {
        let cli = CLIHarness()
        let script = "umask 000; exec \"$0\" \"$@\""
        let result = try CommandRunner.run("/bin/sh", ["-c", script, CommandRunner.keywardenBinary, "init", "--keyfile", cli.keyfile], environment: cli.environment)
        #expect(result.status == 0, "\(result.err)")
        let add = try CommandRunner.run("/bin/sh", ["-c", script, CommandRunner.keywardenBinary, "scope", "add", "qa"], environment: cli.environment)
        #expect(add.status == 0)
        func mode(_ path: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue }
        #expect(try mode(cli.home) == 0o700)
        #expect(try mode(cli.databasePath) == 0o600)
        #expect(try mode(cli.keyfile) == 0o600)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: cli.databasePath + suffix) {
            #expect(try mode(cli.databasePath + suffix) == 0o600)
        }
    }

    @Test("a passphrase vault: wrong passphrase exits 3, is audited, and prints nothing secret")
    func passphrase() throws {
        let cli = CLIHarness()
        cli.environment["KEYWARDEN_KEYFILE"] = nil
        cli.environment["KEYWARDEN_PASSPHRASE"] = "correct horse battery"
        try cli.ok(["init", "--kdf", "interactive"])
        _ = try cli.addKey("groq", scope: "dev", value: FakeKeys.groq())
        let wrong = try cli.run(["key", "list"], env: ["KEYWARDEN_PASSPHRASE": "wrong horse"])
        #expect(wrong.status == 3)
        #expect(wrong.err.contains("wrong passphrase"))
        #expect(wrong.stdout.isEmpty)
        let none = try cli.run(["key", "list"], env: ["KEYWARDEN_PASSPHRASE": nil])
        #expect(none.status == 3)
        #expect(none.err.contains("cannot unlock the vault: no keyfile or passphrase given"))
        let audit = try cli.ok(["audit", "--action", "vault.unlock"])
        #expect(audit.out.contains("denied"))
        #expect(try cli.ok(["audit", "verify"]).status == 0)
        // passwd: the old passphrase stops working, the new one works.
        try cli.ok(["passwd"], env: ["KEYWARDEN_NEW_PASSPHRASE": "new horse"])
        #expect(try cli.run(["key", "list"]).status == 3)
        try cli.ok(["key", "list"], env: ["KEYWARDEN_PASSPHRASE": "new horse"])
        cli.secrets += ["correct horse battery", "new horse"]
        try cli.expectNoSecretLeaked()
    }

    @Test("keyfile problems: missing, readable by others, wrong keyfile — each exit 3 with the reason")
    func keyfiles() throws {
        let cli = CLIHarness()
        try cli.initVault()
        let missing = try cli.run(["key", "list"], env: ["KEYWARDEN_KEYFILE": cli.directory.file("nope.key")])
        #expect(missing.status == 3)
        #expect(missing.err.contains("does not exist"))
        chmod(cli.keyfile, 0o644)
        let loose = try cli.run(["key", "list"])
        #expect(loose.status == 3)
        #expect(loose.err.contains("readable by other users"))
        chmod(cli.keyfile, 0o600)
        let other = cli.directory.file("other.key")
        let otherHome = CLIHarness()
        try otherHome.ok(["init", "--keyfile", other])
        let wrong = try cli.run(["key", "list", "--keyfile", other])
        #expect(wrong.status == 3)
        #expect(wrong.err.contains("does not open any keyfile slot"))
        // init refuses to overwrite an existing keyfile or vault.
        let again = try cli.run(["init", "--keyfile", cli.keyfile])
        #expect(again.status == 2)
        #expect(again.err.contains("already exists"))
    }

    @Test("keyslots: add a keyfile slot and unlock with it; the last slot cannot be removed")
    func keyslots() throws {
        let cli = CLIHarness()
        try cli.initVault()
        let second = cli.directory.file("second.key")
        try cli.ok(["keyslot", "add", "keyfile", second])
        try cli.ok(["key", "list"], env: ["KEYWARDEN_KEYFILE": second])
        let slots = try cli.json(try cli.ok(["keyslot", "list", "--json"])) as! [[String: Any]]
        #expect(slots.count == 2)
        try cli.ok(["keyslot", "remove", "1"])
        let last = try cli.run(["keyslot", "remove", "2"], env: ["KEYWARDEN_KEYFILE": second])
        #expect(last.status == 2)
        #expect(last.err.contains("last keyslot"))
        #expect(try cli.run(["key", "list"]).status == 3, "the removed slot's keyfile no longer opens the vault")
    }
}

import Foundation
import KeywardenTestSupport
import Testing

/// Unlock once, then work: with an agent running, the metadata and write
/// commands (keys, config, scopes, providers, keyslots, passwd, tokens,
/// status) need no keyfile and no passphrase, print what they print
/// directly, and the audit trail names the client's command.
@Suite("End to end: every command through the agent, with no credentials", .serialized)
struct AgentEveryCommandTests {
    /// A vault, its agent, and no keyfile or passphrase left in the environment.
    func agentOnly() throws -> CLIHarness {
        let cli = CLIHarness(.agent)
        try cli.initVault()
        #expect(cli.environment["KEYWARDEN_KEYFILE"] == nil && cli.environment["KEYWARDEN_PASSPHRASE"] == nil)
        return cli
    }

    /// The audit trail as the vault itself reads it (not through the agent).
    func auditEvents(_ cli: CLIHarness) throws -> [[String: Any]] {
        let result = try CommandRunner.run(CommandRunner.keywardenBinary, ["audit", "--json"], environment: cli.directEnvironment)
        #expect(result.status == 0, "audit: \(result.err)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [[String: Any]] ?? []
    }

    func actors(_ events: [[String: Any]], action: String) -> [String] {
        events.filter { $0["action"] as? String == action }.compactMap { $0["actor"] as? String }
    }

    @Test("scope, config, provider, key and status commands work through the agent and are audited as the client's")
    func metadataAndWrites() throws {
        let cli = try agentOnly()
        #expect(try cli.ok(["scope", "add", "qa", "--parent", "prod"]).out == "Created scope qa (inherits from prod).\n")
        let scopes = try cli.json(try cli.ok(["scope", "list", "--json"])) as! [[String: Any]]
        #expect(scopes.contains { $0["name"] as? String == "qa" && $0["parent"] as? String == "prod" })

        #expect(try cli.ok(["config", "set", "APP_URL", "https://app.example", "--scope", "prod"]).out == "Set APP_URL in prod (version 1).\n")
        let dbURL = "postgres://user:s3cret-db-pass@db.internal/app"
        cli.secrets.append(dbURL)
        #expect(try cli.ok(["config", "set", "DATABASE_URL", "--secret", "--scope", "prod"], stdin: dbURL + "\n").out
            == "Set DATABASE_URL in prod (version 1, secret).\n")
        let listed = try cli.ok(["config", "list", "--scope", "qa"]).out
        #expect(listed.contains("prod (inherited)") && listed.contains("******** (secret)") && listed.contains("https://app.example"))
        #expect(try cli.ok(["config", "get", "DATABASE_URL", "--scope", "qa"]).stdout == Array(dbURL.utf8), "exact bytes, no newline off a terminal")
        #expect(try cli.ok(["config", "unset", "APP_URL", "--scope", "prod"]).out == "Removed APP_URL from prod.\n")
        #expect(try cli.run(["config", "get", "APP_URL", "--scope", "prod"]).status == 2, "the agent's not-found is the CLI's exit 2")

        try cli.ok(["provider", "add", "acme", "--base-url", "https://api.acme.dev", "--env", "ACME_TOKEN", "--auth", "header:X-Api-Key", "--key-prefix", "acme_"])
        let set = try cli.ok(["provider", "set", "acme", "--base-url", "http://gw.lan", "--allow-insecure-http"])
        #expect(set.out == "Provider acme: base URL http://gw.lan (plain HTTP allowed: keys travel unencrypted), env ACME_TOKEN.\n",
                "the permission survives the trip through the agent")
        #expect(try cli.ok(["provider", "show", "acme"]).out.contains("plain HTTP   allowed by --allow-insecure-http"))
        let providers = try cli.json(try cli.ok(["provider", "list", "--json"])) as! [[String: Any]]
        let acme = try #require(providers.first { $0["name"] as? String == "acme" })
        #expect(acme["allow_insecure_http"] as? Bool == true && acme["source"] as? String == "custom")
        #expect(try cli.run(["provider", "show", "nope"]).err.contains("unknown provider 'nope'"))
        #expect(try cli.ok(["provider", "rm", "acme"]).out == "Removed provider acme.\n")

        let first = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("x"))
        let second = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("y"))
        #expect(try cli.ok(["key", "show", second]).out.contains("state       standby"))
        #expect(try cli.ok(["key", "show", second, "--reveal"]).stdout == Array(FakeKeys.anthropic("y").utf8))
        #expect(try cli.ok(["key", "activate", second]).out == "Key \(second) is the active anthropic key of prod.\nKey \(first) is now standby.\n")
        #expect(try cli.ok(["key", "rm", first]).out.hasPrefix("Removed anthropic key \(first) "))
        #expect(try cli.run(["key", "add", "nope", "--scope", "prod"], stdin: "x\n").status == 2)

        let status = try cli.ok(["status"]).out
        #expect(status.contains("keys      1 (1 active)") && status.contains("scopes    4"))
        #expect(try cli.ok(["scope", "rm", "qa"]).out == "Removed scope qa.\n")

        let events = try auditEvents(cli)
        for (action, command) in [("scope.add", "scope add"), ("config.set", "config set"), ("provider.set", "provider set"),
                                  ("key.add", "key add"), ("key.reveal", "key show"), ("key.activate", "key activate")] {
            #expect(actors(events, action: action).contains("keywarden \(command) (via agent)"), "\(action) names the client")
        }
        let reveal = try #require(events.last { $0["action"] as? String == "key.reveal" })
        #expect(reveal["pid"] as? Int != Int(cli.agent!.process.processIdentifier), "the client's pid, not the agent's")
        // Printed on purpose by `key show --reveal` and `config get`; the rest must not show them.
        cli.secrets.removeAll { $0 == dbURL || $0 == FakeKeys.anthropic("y") }
        try cli.expectNoSecretLeaked()
    }

    @Test("keyslot add (keyfile at a relative path, passphrase), passwd, keyslot remove and tokens work through the agent")
    func keyslotsAndTokens() throws {
        let cli = try agentOnly()
        let work = cli.directory.file("work")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        // Relative to the CLI's folder, not the agent's.
        let added = try CommandRunner.run(CommandRunner.keywardenBinary, ["keyslot", "add", "keyfile", "second.key"], environment: cli.environment,
                                          currentDirectory: work)
        #expect(added.status == 0, "keyslot add: \(added.err)")
        #expect(added.out == "Added keyslot 2 (keyfile, second.key).\n")
        #expect(SecureMode.of(work + "/second.key") == 0o600)

        let passphrase = "first-passphrase-for-the-test", changed = "second-passphrase-for-the-test"
        cli.secrets += [passphrase, changed]
        #expect(try cli.ok(["keyslot", "add", "passphrase", "--kdf", "interactive"], env: ["KEYWARDEN_NEW_PASSPHRASE": passphrase]).out
            == "Added keyslot 3 (passphrase).\n")
        #expect(try cli.ok(["passwd", "--slot", "3"], env: ["KEYWARDEN_NEW_PASSPHRASE": changed]).out.hasPrefix("Changed the passphrase of keyslot 3 (argon2id"))
        let slots = try cli.json(try cli.ok(["keyslot", "list", "--json"])) as! [[String: Any]]
        #expect(slots.compactMap { $0["kind"] as? String } == ["keyfile", "keyfile", "passphrase"])

        // The new slots open the vault without the agent.
        var direct = cli.environment
        direct["KEYWARDEN_NO_AGENT"] = "1"
        direct["KEYWARDEN_PASSPHRASE"] = changed
        #expect(try CommandRunner.run(CommandRunner.keywardenBinary, ["status"], environment: direct).status == 0, "the changed passphrase unlocks")
        direct["KEYWARDEN_PASSPHRASE"] = nil
        #expect(try CommandRunner.run(CommandRunner.keywardenBinary, ["status", "--keyfile", work + "/second.key"],
                                      environment: direct).status == 0, "the agent wrote the keyfile the CLI named")
        #expect(try cli.ok(["keyslot", "remove", "2"]).out == "Removed keyslot 2 (keyfile).\n")

        let created = try cli.ok(["token", "create", "web", "--scope", "prod", "--ttl", "30d"])
        #expect(created.out.hasPrefix("kwt_") && created.out.hasSuffix("\n") && created.out.split(separator: "\n").count == 1)
        #expect(created.err.contains("token 'web'") && created.err.contains("It is shown only now: store it."))
        #expect(try cli.ok(["token", "list"]).out.contains("web"))
        #expect(try cli.ok(["token", "revoke", "web"]).out.hasPrefix("Revoked token 'web' (t_"))

        let events = try auditEvents(cli)
        for (action, command) in [("keyslot.add", "keyslot add"), ("keyslot.passwd", "passwd"), ("keyslot.remove", "keyslot remove"),
                                  ("token.create", "token create"), ("token.revoke", "token revoke")] {
            #expect(actors(events, action: action).contains("keywarden \(command) (via agent)"), "\(action) names the client")
        }
        try cli.expectNoSecretLeaked()
    }
}

import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

@Suite("End to end: rotation with the real binary", .serialized)
struct RotationEndToEndTests {
    func vault(_ mock: MockProviderServer, mode: CLIMode = .direct) throws -> CLIHarness {
        let cli = CLIHarness(mode)
        try cli.initVault()
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
        return cli
    }

    func keys(_ cli: CLIHarness) throws -> [[String: Any]] {
        try cli.json(try cli.ok(["key", "list", "--provider", "anthropic", "--scope", "prod", "--json"])) as! [[String: Any]]
    }

    @Test("a new user's rotation: 30-day policy with a command, forced rotation, promotion, retiring, re-exported file, audit", arguments: CLIMode.allCases)
    func tour(mode: CLIMode) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, mode: mode)
        let old = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-valid-old-" + String(repeating: "o", count: 40))
        let script = cli.directory.file("new-key.sh")
        try Data("#!/bin/sh\necho \"made for $KEYWARDEN_PROVIDER/$KEYWARDEN_SCOPE\" >&2\necho sk-ant-api03-valid-new-\(String(repeating: "n", count: 40))\n".utf8)
            .write(to: URL(fileURLWithPath: script))
        chmod(script, 0o700)
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--every", "30d", "--grace", "24h", "--command", script])
        #expect(try cli.ok(["rotate", "policy", "list"]).out.contains("30d"))
        let envFile = cli.directory.file("prod.env")
        try cli.ok(["export", "--scope", "prod", "--output", envFile])
        #expect(try cli.ok(["rotate", "--due"]).out.contains("Nothing is due"))
        let dry = try cli.ok(["rotate", "anthropic", "--scope", "prod", "--dry-run"])
        #expect(dry.out.contains("would rotate"))
        let rotated = try cli.ok(["rotate", "anthropic", "--scope", "prod", "--reexport"])
        #expect(rotated.out.contains("rotated"))
        #expect(rotated.out.contains("Re-exported ") && rotated.out.contains("prod.env"))
        let states = Dictionary(uniqueKeysWithValues: try keys(cli).map { ($0["id"] as! String, $0["state"] as! String) })
        #expect(states[old] == "retiring")
        #expect(states.values.filter { $0 == "active" }.count == 1)
        #expect(try String(contentsOfFile: envFile, encoding: .utf8).contains("valid-new"))
        let audit = try cli.ok(["audit", "--provider", "anthropic"]).out
        for action in ["rotate.start", "key.add", "key.validate", "key.rotate", "rotate.policy"] { #expect(audit.contains(action), "audit lacks \(action)") }
        #expect(try cli.ok(["audit", "verify"]).status == 0)
        await mock.shutdown()
    }

    @Test("kill -9 at every step, many times: the next run finishes or rolls back, one key is active, nothing is lost", arguments: ["create", "set", "test", "finish"])
    func crashes(step: String) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock)
        _ = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-valid-0-" + String(repeating: "a", count: 40))
        var stored = 1
        for round in 1...3 {
            _ = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-valid-\(round)-" + String(repeating: "s", count: 40), extra: ["--label", "spare-\(round)"])
            stored += 1
            let crashed = try cli.run(["rotate", "anthropic", "--scope", "prod"], env: ["KEYWARDEN_CRASH_AT": step])
            #expect(crashed.signalled && crashed.status == SIGKILL, "round \(round): killed at \(step)")
            let recovered = try cli.run(["rotate", "--due", "--json"])
            #expect(recovered.status == 0, "\(recovered.err)")
            let keys = try keys(cli)
            #expect(keys.count == stored, "no stored key is lost")
            #expect(keys.filter { $0["state"] as? String == "active" }.count == 1, "exactly one active key after a crash at \(step)")
            #expect(!keys.contains { $0["state"] as? String == "pending" }, "no rotation is left half done")
            #expect(try cli.run(["audit", "verify"]).status == 0)
            for key in keys { #expect(try cli.run(["key", "show", key["id"] as! String, "--reveal"]).status == 0, "every key still opens") }
        }
        cli.secrets.removeAll()
        await mock.shutdown()
    }

    func states(_ cli: CLIHarness) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try keys(cli).map { ($0["id"] as! String, $0["state"] as! String) })
    }

    @Test("16.1 and 16.3: when only a grace period has ended, the dry run lists the revocation and the re-export, and the real run rewrites the file before revoking", arguments: CLIMode.allCases)
    func graceEndEndToEnd(mode: CLIMode) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, mode: mode)
        let old = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("o"))
        let standby = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("n"))
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--grace", "1s"])
        let envFile = cli.directory.file("prod.env")
        try cli.ok(["export", "--scope", "prod", "--output", envFile])
        // Rotated without --reexport: the file keeps the old key.
        try cli.ok(["rotate", "anthropic", "--scope", "prod"])
        #expect(try String(contentsOfFile: envFile, encoding: .utf8).contains(FakeKeys.anthropic("o")))
        usleep(1_500_000)
        let dry = try cli.ok(["rotate", "--due", "--dry-run", "--reexport"]).out
        #expect(!dry.contains("Nothing is due"), "\(dry)")
        #expect(dry.contains("would revoke") && dry.contains(old), "\(dry)")
        #expect(dry.contains("Would re-export ") && dry.contains("prod.env"), "\(dry)")
        #expect(try states(cli)[old] == "retiring", "the dry run changed nothing")
        let real = try cli.ok(["rotate", "--due", "--reexport"]).out
        #expect(real.contains("revoked") && real.contains("Re-exported ") && real.contains("prod.env") && real.contains("before the revocation"), "\(real)")
        let states = try states(cli)
        #expect(states[old] == "revoked")
        #expect(states[standby] == "active")
        let file = try String(contentsOfFile: envFile, encoding: .utf8)
        #expect(!file.contains(FakeKeys.anthropic("o")))
        #expect(file.contains(FakeKeys.anthropic("n")))
        #expect(try cli.ok(["rotate", "--due", "--dry-run", "--reexport"]).out.contains("Nothing is due"))
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("16.2: a file exported through a running agent is recorded, and `rotate --reexport` rewrites it")
    func agentExportIsRecorded() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock)
        _ = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("o"))
        _ = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("n"))
        let agent = try RunningAgent(cli, extra: ["--rotation-interval", "off"])
        let envFile = cli.directory.file("via-agent.env")
        try cli.ok(["export", "--scope", "prod", "--output", envFile])
        let served = try cli.ok(["audit", "--action", "export", "--json"]).out
        #expect(served.contains("via-agent.env") && served.contains("keywarden export (via agent)"), "the export went through the agent: \(served)")
        #expect(try String(contentsOfFile: envFile, encoding: .utf8).contains(FakeKeys.anthropic("o")))
        let rotated = try cli.ok(["rotate", "anthropic", "--scope", "prod", "--reexport"]).out
        #expect(rotated.contains("Re-exported ") && rotated.contains("via-agent.env"), "\(rotated)")
        let file = try String(contentsOfFile: envFile, encoding: .utf8)
        #expect(!file.contains(FakeKeys.anthropic("o")))
        #expect(file.contains(FakeKeys.anthropic("n")))
        agent.stop()
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("16.4: after a crash during test, one `rotate PROVIDER` finishes the interrupted rotation and starts no second one")
    func oneRotationAfterCrash() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock)
        let old = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("o"))
        let first = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("f"), extra: ["--label", "spare-1"])
        let second = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("s"), extra: ["--label", "spare-2"])
        let crashed = try cli.run(["rotate", "anthropic", "--scope", "prod"], env: ["KEYWARDEN_CRASH_AT": "test"])
        #expect(crashed.signalled && crashed.status == SIGKILL)
        let dry = try cli.ok(["rotate", "anthropic", "--scope", "prod", "--dry-run"]).out
        #expect(dry.contains("would resume") && !dry.contains("would rotate"), "\(dry)")
        let resumed = try cli.ok(["rotate", "anthropic", "--scope", "prod"]).out
        #expect(resumed.contains("resumed"), "\(resumed)")
        let states = try states(cli)
        #expect(states[old] == "retiring")
        #expect(states[first] == "active")
        #expect(states[second] == "standby", "no second rotation")
        let rotations = try cli.ok(["audit", "--action", "key.rotate", "--json"])
        #expect((try cli.json(rotations) as! [Any]).count == 1)
        await mock.shutdown()
    }

    @Test("9: rotate and revoke commands get none of Keywarden's credentials (passphrases, keyfile, agent token) in their environment")
    func commandsGetNoCredentials() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock)
        _ = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("o"))
        let rotateEnv = cli.directory.file("rotate.env"), revokeEnv = cli.directory.file("revoke.env")
        let script = cli.directory.file("new-key.sh")
        try Data("#!/bin/sh\nenv > '\(rotateEnv)'\necho \(FakeKeys.anthropic("n"))\n".utf8).write(to: URL(fileURLWithPath: script))
        chmod(script, 0o700)
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--grace", "1s", "--command", script,
                    "--revoke-command", "cat > /dev/null; env > '\(revokeEnv)'"])
        let credentials: [String: String?] = ["KEYWARDEN_PASSPHRASE": "pp-leak-check", "KEYWARDEN_NEW_PASSPHRASE": "np-leak-check", "KEYWARDEN_TOKEN": "kwt_leak-check"]
        #expect(try cli.ok(["rotate", "anthropic", "--scope", "prod"], env: credentials).out.contains("rotated"))
        // The grace period is 1 s; `rotate --due` revokes once it has ended (polled, for loaded machines).
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: revokeEnv), Date() < deadline {
            usleep(500_000)
            try cli.ok(["rotate", "--due"], env: credentials)
        }
        for file in [rotateEnv, revokeEnv] {
            let env = try String(contentsOfFile: file, encoding: .utf8)
            #expect(env.contains("KEYWARDEN_PROVIDER=anthropic"), "\(file): the command did run with its own variables")
            for name in ["KEYWARDEN_PASSPHRASE", "KEYWARDEN_NEW_PASSPHRASE", "KEYWARDEN_KEYFILE", "KEYWARDEN_TOKEN"] {
                #expect(!env.contains("\(name)="), "\(file) has \(name)")
            }
            #expect(!env.contains("leak-check") && !env.contains(cli.directory.file("vault.key")), "\(file)")
        }
        await mock.shutdown()
    }

    @Test("9.6: a revoke command that echoes the old key to stderr and a rotate command that echoes its output leave no value in the vault file, audit, key detail or output")
    func stderrRedacted() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock)
        let old = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("o"))
        let made = FakeKeys.anthropic("m"), refused = FakeKeys.anthropic("r")
        cli.secrets += [made, refused]
        let script = cli.directory.file("new-key.sh")
        try Data("#!/bin/sh\nset -x\nk=\(made)\necho \"$k\"\necho \"made $k\" >&2\n".utf8).write(to: URL(fileURLWithPath: script))
        chmod(script, 0o700)
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--grace", "1s", "--command", script,
                    "--revoke-command", "echo \"$(cat)\" >&2; exit 1", "--revoke-timeout", "20s"])
        let policies = try cli.json(try cli.ok(["rotate", "policy", "list", "--json"])) as! [[String: Any]]
        #expect(policies.first?["revoke_timeout"] as? String == "20s")
        let rotated = try cli.ok(["rotate", "anthropic", "--scope", "prod"]).out
        #expect(rotated.contains("rotated"), "\(rotated)")
        usleep(1_500_000)
        let revoked = try cli.ok(["rotate", "--due"]).out
        #expect(revoked.contains("revoke command failed") && revoked.contains("[redacted]"), "\(revoked)")
        let detail = try cli.ok(["key", "show", old, "--json"]).out
        #expect(detail.contains("revoke command failed") && detail.contains("[redacted]"), "\(detail)")
        // A rotate command that prints a key, echoes it to stderr and fails.
        let failing = cli.directory.file("failing-key.sh")
        try Data("#!/bin/sh\necho \(refused)\necho \"oops \(refused)\" >&2\nexit 1\n".utf8).write(to: URL(fileURLWithPath: failing))
        chmod(failing, 0o700)
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--command", failing])
        let failed = try cli.run(["rotate", "anthropic", "--scope", "prod"])
        #expect(failed.status != 0 && failed.out.contains("[redacted]"), "\(failed.out)")
        let audit = try cli.ok(["audit", "--json"]).out
        #expect(audit.contains("[redacted]"))
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("16.6: `key rm` of the active key promotes a healthy standby and says so; with none it is refused unless --force")
    func removeActiveKey() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock)
        let active = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("a"))
        let standby = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("b"))
        let removed = try cli.ok(["key", "rm", active]).out
        #expect(removed.contains("Promoted standby \(standby)"), "\(removed)")
        #expect(try states(cli)[standby] == "active")
        let refused = try cli.run(["key", "rm", standby])
        #expect(refused.status != 0 && refused.err.contains("--force"), "\(refused.err)")
        #expect(try states(cli)[standby] == "active", "nothing was removed")
        try cli.ok(["key", "rm", standby, "--force"])
        #expect(try states(cli).isEmpty)
        await mock.shutdown()
    }
}

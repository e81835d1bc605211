import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

@Suite("End to end: balances, --warn-below, TLS verdicts and relay rules through the CLI")
struct HeadroomEndToEndTests {
    let e2e = ValidationEndToEndTests()

    @Test("validate records balances (key list, key show, --json, status); --warn-below exits 7 with a line per key below", arguments: CLIMode.allCases)
    func warnBelow(mode: CLIMode) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try e2e.vault(mock, mode: mode, providers: ["deepseek", "openai"])
        let low = try e2e.add(cli, "deepseek", "prod", "sk-valid-lowbalance-" + String(repeating: "a", count: 20), label: "low")
        let rich = try e2e.add(cli, "deepseek", "staging", "sk-valid-richbalance-" + String(repeating: "b", count: 20), label: "rich")
        let openai = try e2e.add(cli, "openai", "prod", "sk-proj-valid-headroom-" + String(repeating: "c", count: 40), label: "oa")
        mock.setBalance(forKeyContaining: "lowbalance", "3.20")

        let warned = try cli.run(["validate", "--warn-below", "5"])
        #expect(warned.status == 7, "\(warned.out)\(warned.err)")
        #expect(warned.out.contains("warning: \(low) deepseek/prod"))
        #expect(warned.out.contains("balance 3.20 CNY is below 5"))
        #expect(!warned.out.contains("warning: \(rich)") && !warned.out.contains("warning: \(openai)"))
        #expect(try cli.run(["validate", "--warn-below", "2.5"]).status == 0)
        let json = try cli.run(["validate", "--warn-below", "5", "--json"])
        #expect(json.status == 7)
        let checks = try cli.json(json) as! [[String: Any]]
        #expect((checks.first { $0["id"] as? String == low }?["balance"] as? [String: Any])?["amount"] as? String == "3.20")

        let bad = try cli.run(["validate", "--warn-below", "five"])
        #expect(bad.status == 64)
        #expect(bad.err.contains("invalid --warn-below 'five'"))

        let list = try cli.json(try cli.ok(["key", "list", "--json"])) as! [[String: Any]]
        let lowBalance = list.first { $0["id"] as? String == low }?["balance"] as? [String: Any]
        #expect(lowBalance?["amount"] as? String == "3.20" && lowBalance?["currency"] as? String == "CNY" && lowBalance?["checked_at"] != nil)
        #expect(list.first { $0["id"] as? String == openai }?["rate_limits"] != nil)
        let shown = try cli.ok(["key", "show", low]).out
        #expect(shown.contains("balance     3.20 CNY at "))
        let shownOpenAI = try cli.ok(["key", "show", openai]).out
        #expect(shownOpenAI.contains("rate limits requests "), "\(shownOpenAI)")
        let status = try cli.ok(["status"]).out
        #expect(status.contains("balances  2 keys reported"), "\(status)")
        let lowAtFive = try cli.ok(["status", "--warn-below", "5"]).out
        #expect(lowAtFive.contains("deepseek/prod \(low) (active): 3.20 CNY") && !lowAtFive.contains("deepseek/staging"), "\(lowAtFive)")
        #expect(try cli.run(["status", "--warn-below", "five"]).status == 64)

        // Drained: the provider refuses calls, validate says no_credit (exit 5), status lists it as running low.
        mock.setBalance(forKeyContaining: "lowbalance", "0.00")
        #expect(try cli.run(["validate", "deepseek", "--warn-below", "5"]).status == 5)
        #expect(try cli.ok(["status"]).out.contains("deepseek/prod \(low) (active): 0.00 CNY"))
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("storage copy carries each key's balance and rate limits to PostgreSQL", .enabled(if: PostgresTestDatabase.isAvailable))
    func storageCopy() async throws {
        let mock = try await MockProviderServer.start()
        let db = try PostgresTestDatabase()
        let cli = try e2e.vault(mock, providers: ["deepseek", "openai"])
        let ds = try e2e.add(cli, "deepseek", "prod", "sk-valid-copied-" + String(repeating: "e", count: 24), label: "ds")
        let oa = try e2e.add(cli, "openai", "prod", "sk-proj-valid-copied-" + String(repeating: "f", count: 40), label: "oa")
        mock.setBalance(forKeyContaining: "copied", "42.00")
        try cli.ok(["validate"])
        let copied = try cli.run(["storage", "copy", "--to", db.url])
        #expect(copied.status == 0, "\(copied.err)")
        #expect(copied.out.contains("2 balance rows"), "\(copied.out)")
        let onPostgres: [String: String?] = ["KEYWARDEN_DATABASE_URL": db.url]
        let list = try cli.json(try cli.ok(["key", "list", "--json"], env: onPostgres)) as! [[String: Any]]
        #expect((list.first { $0["id"] as? String == ds }?["balance"] as? [String: Any])?["amount"] as? String == "42.00")
        #expect(list.first { $0["id"] as? String == oa }?["rate_limits"] != nil)
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("doctor names an expired certificate with its date, and a certificate for other hosts with its names")
    func doctorTLS() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try e2e.vault(mock, providers: [])
        _ = try e2e.add(cli, "openai", "prod", "sk-proj-valid-tlsverdict-" + String(repeating: "d", count: 40), label: "oa")
        for (presented, expected) in [(MockTLSServer.Presented.expired, "expired on 2024-01-31"), (.wrongHost, "valid for api.elsewhere.test, *.elsewhere.test"),
                                      (.selfSigned, "self-signed"), (.untrustedIssuer, "TLS-inspecting proxy")] {
            let server = try await MockTLSServer.start(presenting: presented)
            let ca = cli.directory.file("ca-\(presented.rawValue).pem")
            try server.caPEM.write(toFile: ca, atomically: false, encoding: .utf8)
            try cli.ok(["provider", "set", "openai", "--base-url", "https://localhost:\(server.port)/openai"])
            // A generous limit: on a busy machine resolving localhost can be slow.
            let doctor = try cli.run(["doctor", "openai", "--scope", "prod", "--ca-file", ca, "--timeout", "60s"])
            #expect(doctor.status == 6, "\(presented): \(doctor.out)")
            #expect(doctor.out.contains("Verdict: FAILED at TLS"), "\(presented): \(doctor.out)")
            #expect(doctor.out.contains(expected), "\(presented): \(doctor.out)")
            await server.shutdown()
        }
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("a relay as a user-defined provider: built-in relay rules, --rules FILE first, a bad file refused naming file and rule")
    func relay() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try e2e.vault(mock, providers: [])
        let base = "http://127.0.0.1:\(mock.port)/relay"
        let badRules = cli.directory.file("bad-rules.json")
        try #"[{"status":[403],"outcome":"no_credit"}]"#.write(toFile: badRules, atomically: false, encoding: .utf8)
        let refused = try cli.run(["provider", "add", "relay", "--base-url", base, "--env", "RELAY_API_KEY", "--probe-path", "/v1/models", "--rules", badRules])
        #expect(refused.status == 2)
        #expect(refused.err.contains("--rules \(badRules): rule 1 lacks \"reason\""), "\(refused.err)")
        #expect(try cli.run(["provider", "show", "relay"]).status != 0, "nothing was added")

        let rules = cli.directory.file("rules.json")
        try #"[{"status":[503],"json":[{"path":"error.message","contains":"无可用渠道"}],"outcome":"provider_error","reason":"my relay has no channel for that model","fix":"ask #llm-ops"}]"#
            .write(toFile: rules, atomically: false, encoding: .utf8)
        try cli.ok(["provider", "add", "relay", "--base-url", base, "--env", "RELAY_API_KEY", "--probe-path", "/v1/models", "--rules", rules])
        #expect(try cli.ok(["provider", "show", "relay"]).out.contains("own rules    1, before the built-in ones"))
        #expect(try cli.ok(["provider", "show", "moonshot"]).out.contains("balance      GET https://api.moonshot.ai/v1/users/me/balance, field data.available_balance"))
        let ok = try e2e.add(cli, "relay", "prod", "sk-relay-valid-0001", label: "ok")
        let quota = try e2e.add(cli, "relay", "staging", "sk-relay-noquota-0002", label: "quota")
        let channel = try e2e.add(cli, "relay", "dev", "sk-relay-nochannel-0003", label: "channel")
        let result = try cli.run(["validate", "relay", "--json"])
        let checks = try cli.json(result) as! [[String: Any]]
        let outcomes = Dictionary(uniqueKeysWithValues: checks.map { ($0["id"] as! String, $0["outcome"] as! String) })
        #expect(outcomes == [ok: "valid", quota: "no_credit", channel: "provider_error"])
        #expect(checks.first { $0["id"] as? String == channel }?["reason"] as? String == "my relay has no channel for that model", "the user's rule came first")
        #expect(result.status == 5)
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }
}

import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

@Suite("End to end: key check, --expires, status's expiring keys and network incidents")
struct KeyHealthEndToEndTests {
    func keys(_ cli: CLIHarness) throws -> [String: [String: Any]] {
        let list = try cli.json(try cli.ok(["key", "list", "--json"])) as! [[String: Any]]
        return Dictionary(uniqueKeysWithValues: list.map { ($0["id"] as! String, $0) })
    }

    @Test("a key found invalid stays failed until key check finds it fixed; expiry is listed and warned; DNS trouble blames no key", arguments: CLIMode.allCases)
    func keyHealth(mode: CLIMode) async throws {
        let mock = try await MockProviderServer.start()
        let cli = CLIHarness(mode)
        try cli.initVault()
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
        let alphaValue = "sk-ant-api03-alpha" + String(repeating: "A", count: 80) + "AA"
        let alpha = try cli.addKey("anthropic", scope: "prod", value: alphaValue, extra: ["--expires", "5d", "--force"])
        let bravo = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-bravo" + String(repeating: "B", count: 80) + "AA", extra: ["--force"])

        // Expiry: stored, listed, shown, warned.
        var listed = try keys(cli)
        #expect(listed[alpha]?["expires"] is String && listed[bravo]?["expires"] == nil)
        #expect(try cli.ok(["key", "list"]).out.contains("EXPIRES"))
        #expect(try cli.ok(["key", "show", alpha]).out.contains("expires"))
        let status = try cli.ok(["status"]).out
        #expect(status.contains("Expiring keys (1):") && status.contains(alpha), "\(status)")
        let refused = try cli.run(["key", "add", "anthropic", "--scope", "prod", "--expires", "yesterday", "--force"], stdin: "sk-ant-api03-charlie" + String(repeating: "C", count: 80) + "\n")
        #expect(refused.status == 2 && refused.err.contains("invalid --expires 'yesterday'"), "\(refused.err)")
        #expect(try keys(cli).count == 2, "nothing was stored")

        // Found invalid in use: failover, and alpha stays failed until a person checks it.
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--failover", "on"])
        mock.setScenario(forKeyContaining: "alpha", "invalid")
        try cli.ok(["report", "--key", alpha, "--status", "401"])
        listed = try keys(cli)
        #expect(listed[alpha]?["state"] as? String == "failed" && listed[alpha]?["failed_because"] as? String == "invalid")
        #expect(listed[bravo]?["state"] as? String == "active")
        let stillBad = try cli.run(["key", "check", alpha])
        #expect(stillBad.status == 5 && stillBad.out.contains("stays failed"), "\(stillBad.out) \(stillBad.err)")
        mock.setScenario(forKeyContaining: "alpha", nil)  // fixed at the provider
        let fixed = try cli.ok(["key", "check", alpha])
        #expect(fixed.out.contains("standby again"), "\(fixed.out)")
        #expect(try keys(cli)[alpha]?["state"] as? String == "standby")
        let audit = try cli.ok(["audit", "--action", "key.recovered"]).out
        #expect(audit.contains(alpha))
        let unknown = try cli.run(["key", "check", "k_nosuchkey0"])
        #expect(unknown.status != 0 && unknown.err.contains("k_nosuchkey0"))

        // DNS trouble: validate cannot check (6), no key changes, status shows the incident.
        try cli.ok(["provider", "set", "anthropic", "--base-url", "https://nonexistent.invalid"])
        let before = try keys(cli).mapValues { $0["state"] as? String }
        let validate = try cli.run(["validate"])
        #expect(validate.status == 6, "\(validate.out) \(validate.err)")
        #expect(try keys(cli).mapValues { $0["state"] as? String } == before)
        let checkDNS = try cli.run(["key", "check", bravo])
        #expect(checkDNS.status == 6)
        #expect(try keys(cli)[bravo]?["state"] as? String == "active")
        let doctor = try cli.run(["doctor", "anthropic", "--scope", "prod"])
        #expect(doctor.status != 0)
        let incidents = try cli.ok(["status"]).out
        #expect(incidents.contains("Network incidents") && incidents.contains("FAILED at DNS") && incidents.contains("dns_error"), "\(incidents)")
        let json = try cli.json(try cli.ok(["status", "--json"])) as! [String: Any]
        let recorded = try #require(json["network_incidents"] as? [[String: Any]])
        #expect(recorded.count == 4)
        #expect(Set(recorded.compactMap { $0["source"] as? String }) == ["validate", "key check", "doctor"])
        #expect(recorded.allSatisfy { ($0["verdict"] as? String)?.hasPrefix("FAILED at DNS") == true }, "\(recorded)")

        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("serve refuses a bad --recovery-max-backoff before it unlocks anything")
    func badBackoff() throws {
        let cli = CLIHarness()
        try cli.initVault()
        let result = try cli.run(["serve", "--recovery-max-backoff", "10s"])
        #expect(result.status == 2 && result.err.contains("invalid --recovery-max-backoff '10s'"), "\(result.err)")
    }
}

import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

@Suite("End to end: rotation with the real binary", .serialized)
struct RotationEndToEndTests {
    func vault(_ mock: MockProviderServer) throws -> CLIHarness {
        let cli = CLIHarness()
        try cli.initVault()
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
        return cli
    }

    func keys(_ cli: CLIHarness) throws -> [[String: Any]] {
        try cli.json(try cli.ok(["key", "list", "--provider", "anthropic", "--scope", "prod", "--json"])) as! [[String: Any]]
    }

    @Test("a new user's rotation: 30-day policy with a command, forced rotation, promotion, retiring, re-exported file, audit")
    func tour() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock)
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
}

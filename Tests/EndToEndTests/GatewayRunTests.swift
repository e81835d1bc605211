import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

@Suite("End to end: run --gateway", .serialized)
struct GatewayRunTests {
    /// `NAME=value` lines as a dictionary (the last one wins).
    func variables(_ lines: some StringProtocol) -> [String: String] {
        var result: [String: String] = [:]
        for line in lines.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            result[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return result
    }

    /// The gateway's answer to `token` at `url` (curl reads the header from a
    /// file, so the token is not in its argv).
    func status(_ cli: CLIHarness, url: String, token: String) throws -> String {
        let headers = cli.directory.file("headers")
        try Data("x-api-key: \(token)\ncontent-type: application/json\n".utf8).write(to: URL(fileURLWithPath: headers))
        let result = try CommandRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", "-X", "POST",
                                                            "-H", "@\(headers)", "-d", "{}", url], environment: cli.environment)
        return result.out
    }

    @Test("the command gets the gateway's URLs and a token, no key in its env or /proc/PID/environ; the token dies with it")
    func runThroughGateway() async throws {
        let cli = CLIHarness()
        try cli.initVault()
        let anthropicKey = FakeKeys.anthropic("p"), openaiKey = FakeKeys.openai("q")
        _ = try cli.addKey("anthropic", scope: "prod", value: anthropicKey)
        _ = try cli.addKey("openai", scope: "prod", value: openaiKey)
        try cli.ok(["config", "set", "APP_URL", "https://app.example", "--scope", "prod"])
        // Nothing listens upstream: a live token gets the gateway's own error, never a 401.
        let closed = try await MockProviderServer.closedPort()
        try cli.ok(["provider", "set", "anthropic", "--base-url", "http://127.0.0.1:\(closed)"])
        try cli.startAgent(extra: ["--gateway", "127.0.0.1:0"])

        let script = """
        cat /proc/$$/environ | tr '\\0' '\\n'; echo ---
        env; echo ---
        echo "live=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST -H "x-api-key: $ANTHROPIC_API_KEY" -d '{}' "$ANTHROPIC_BASE_URL/v1/messages")"
        """
        // The parent holds keys of its own: the command must lose them.
        let run = try cli.ok(["run", "--gateway", "--scope", "prod", "--", "sh", "-c", script],
                             env: ["OPENAI_API_KEY": openaiKey, "CLAUDE_API_KEY": anthropicKey, "ANTHROPIC_AUTH_TOKEN": anthropicKey])
        let exited = ContinuousClock.now
        let sections = run.out.components(separatedBy: "---\n")
        try #require(sections.count == 3, "\(run.out)\n\(run.err)")
        for value in [anthropicKey, openaiKey] {
            #expect(!run.out.contains(value) && !run.err.contains(value), "a vault key reached the command")
        }
        let procEnv = variables(sections[0]), env = variables(sections[1])
        #expect(procEnv == env.filter { $0.key != "PWD" }, "/proc/PID/environ and env agree (sh adds PWD)")
        let gateway = try #require(env["KEYWARDEN_GATEWAY_URL"])
        #expect(gateway.wholeMatch(of: /http:\/\/127\.0\.0\.1:[0-9]+/) != nil, "\(gateway)")
        #expect(env["ANTHROPIC_BASE_URL"] == gateway + "/anthropic")
        #expect(env["OPENAI_BASE_URL"] == gateway + "/openai/v1")
        let token = try #require(env["ANTHROPIC_API_KEY"])
        #expect(token.hasPrefix("kwt_") && token.utf8.count == 47)
        #expect(env["OPENAI_API_KEY"] == token)
        #expect(env["CLAUDE_API_KEY"] == nil && env["ANTHROPIC_AUTH_TOKEN"] == nil, "the parent's provider keys are removed")
        #expect(env["APP_URL"] == "https://app.example", "config entries as a plain run gives them")
        #expect(env["KEYWARDEN_KEYFILE"] == nil)
        let live = variables(sections[2])["live"]
        #expect(live != "401" && live != "403" && live != "000", "while the command runs its token is accepted (upstream closed: \(live ?? "nil"))")

        // Within 2 s of the command's exit, the gateway no longer knows the token.
        var after = ""
        while ContinuousClock.now - exited < .seconds(2) {
            after = try status(cli, url: gateway + "/anthropic/v1/messages", token: token)
            if after == "401" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(after == "401", "the token still worked 2 s after the command exited (\(after))")

        let created = try cli.ok(["audit", "--action", "token.create"]).out
        #expect(created.contains("ephemeral gateway token for run sh, pid"))
        var revoked = ""
        for _ in 0..<40 where !revoked.contains("the process exited") {
            revoked = try cli.ok(["audit", "--action", "token.revoke"]).out
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(revoked.contains("ephemeral gateway token for run sh, pid") && revoked.contains("the process exited"))
        cli.secrets.removeAll { $0 == anthropicKey || $0 == openaiKey }  // given to `run` in the environment on purpose
        try cli.expectNoSecretLeaked()
    }

    @Test("run --gateway needs the agent (exit 2 in-process) and an agent with a gateway (exit 2, 409); --ttl and --only are checked")
    func needsAgentWithGateway() throws {
        let cli = CLIHarness()
        try cli.initVault()
        _ = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("p"))
        for bad in ["0.0.0.0:8788", "192.0.2.1:8788", "127.0.0.1", "127.0.0.1:99999"] {
            let serve = try cli.run(["serve", "--gateway", bad])
            #expect(serve.status == 2 && serve.err.contains("--gateway"), "serve --gateway \(bad): \(serve.err)")
        }
        #expect(try cli.run(["serve", "--gateway", "127.0.0.1:0", "--gateway-scope", "Not A Scope"]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: cli.environment["KEYWARDEN_SOCKET"]!), "a refused serve leaves no socket")
        let inProcess = try cli.run(["run", "--gateway", "--scope", "prod", "--", "true"])
        #expect(inProcess.status == 2)
        #expect(inProcess.err.contains("run --gateway needs the agent: start it with `keywarden serve --gateway`"))

        try cli.startAgent()
        let noGateway = try cli.run(["run", "--gateway", "--scope", "prod", "--", "true"])
        #expect(noGateway.status == 2)
        #expect(noGateway.err.contains("the agent runs without --gateway"), "\(noGateway.err)")
        #expect(try cli.run(["run", "--gateway", "--scope", "prod", "--ttl", "forever", "--", "true"]).status == 2)
        #expect(try cli.run(["run", "--ttl", "1h", "--scope", "prod", "--", "true"]).status == 64, "--ttl without --gateway")
        #expect(try cli.run(["run", "--gateway", "--env-file", "x", "--scope", "prod", "--", "true"]).status == 64)
        // Without --gateway, run is unchanged.
        #expect(try cli.ok(["run", "--scope", "prod", "--", "sh", "-c", "printf %s \"$ANTHROPIC_API_KEY\""]).out == FakeKeys.anthropic("p"))
        cli.secrets.removeAll()
    }
}

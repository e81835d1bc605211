import AsyncHTTPClient
import Foundation
import KeywardenMockProvider
import KeywardenServer
import KeywardenTestSupport
import NIOCore
import NIOPosix
import Testing

@Suite("End to end: the gateway under load", .serialized)
struct GatewayLoadTests {
    /// The agent's `/v1/health` or `/metrics`, over its socket.
    func agentGET(_ cli: CLIHarness, _ path: String) throws -> String {
        try CommandRunner.run("/usr/bin/curl", ["-s", "--unix-socket", cli.environment["KEYWARDEN_SOCKET"]!, "http://k\(path)"], environment: cli.environment, timeout: 10).out
    }

    @Test("1,000 concurrent SSE streams through the real agent, each byte-identical; no key, token or fingerprint in its trace log or metrics")
    func thousandStreams() async throws {
        _ = ConnectionLimits.raiseDescriptorLimit()
        let mock = try await MockProviderServer.start()
        mock.streamDelay = .milliseconds(250)  // each stream lasts about 5 s: they overlap
        let cli = CLIHarness()
        try cli.initVault()
        let key = FakeKeys.anthropic("p")
        _ = try cli.addKey("anthropic", scope: "prod", value: key)
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
        let created = try cli.ok(["token", "create", "load", "--scope", "prod", "--provider", "anthropic"])
        let token = String(try #require((created.out + created.err).firstMatch(of: /kwt_[A-Za-z0-9_-]{43}/)).output)
        let fingerprint = try #require(try cli.ok(["key", "list", "--scope", "prod", "--json"]).out.firstMatch(of: /"fingerprint" *: *"([0-9a-f]+)"/)).output.1
        let log = cli.directory.file("agent.log")
        cli.environment["KEYWARDEN_LOG_LEVEL"] = "trace"
        let agent = try RunningAgent(cli, extra: ["--gateway", "127.0.0.1:0"], shellPrefix: "exec 2>\(log);")
        defer { agent.stop() }
        let health = try agentGET(cli, "/v1/health")
        let gateway = String(try #require(health.firstMatch(of: /"gateway":"(http:\/\/127\.0\.0\.1:[0-9]+)"/)).output.1)

        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(30), read: .seconds(60)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1100)
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        let expected = MockProviderServer.expectedStream(provider: "anthropic")
        let peak = PeakInFlight()
        let sampler = Task {
            while !Task.isCancelled {
                if let text = try? agentGET(cli, "/metrics"),
                   let match = text.firstMatch(of: /keywarden_gateway_in_flight\{[^}]*\} ([0-9]+)/), let n = Int(match.output.1) {
                    await peak.saw(n)
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let started = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: (ok: Bool, open: Duration, closed: Duration).self) { group in
            for _ in 0..<1000 {
                group.addTask {
                    var request = HTTPClientRequest(url: gateway + "/anthropic/v1/messages")
                    request.method = .POST
                    request.headers.add(name: "x-api-key", value: token)
                    request.headers.add(name: "anthropic-version", value: "2023-06-01")
                    request.body = .bytes(ByteBuffer(string: #"{"model":"m","max_tokens":8,"stream":true,"messages":[]}"#))
                    let response = try await client.execute(request, timeout: .seconds(120))
                    let open = ContinuousClock.now - started
                    let body = try await response.body.collect(upTo: 1 << 20)
                    return (response.status == .ok && Array(body.readableBytesView) == expected, open, ContinuousClock.now - started)
                }
            }
            var results: [(ok: Bool, open: Duration, closed: Duration)] = []
            for try await result in group { results.append(result) }
            return results
        }
        let identical = results.filter(\.ok).count
        // The most streams open at one moment, as the client saw them: head received, end not yet.
        var edges: [(at: Duration, step: Int)] = []
        for result in results {
            edges.append((result.open, 1))
            edges.append((result.closed, -1))
        }
        edges.sort { (a: (at: Duration, step: Int), b: (at: Duration, step: Int)) -> Bool in a.at < b.at || (a.at == b.at && a.step < b.step) }
        var open = 0, concurrent = 0
        for edge in edges {
            open += edge.step
            concurrent = max(concurrent, open)
        }
        sampler.cancel()
        try await client.shutdown()
        #expect(identical == 1000)
        let highest = await peak.value
        #expect(concurrent >= 950, "at most \(concurrent) streams were open at once")
        let status = (try? String(contentsOfFile: "/proc/\(agent.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let hwm = status.split(separator: "\n").first { $0.hasPrefix("VmHWM") } ?? "VmHWM: ?"
        print("gateway load: \(identical)/1000 streams identical; \(concurrent) open at once (client), \(highest) in flight at most (agent's metric, sampled); agent \(hwm)")

        let metrics = try agentGET(cli, "/metrics")
        #expect(metrics.contains("outcome=\"ok\"} 1000"))
        agent.stop()
        let logged = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(logged.contains("gateway listening on"))
        for (what, text) in [("trace log", logged), ("metrics", metrics)] {
            #expect(!text.contains(key), "the key is in the agent's \(what)")
            #expect(!text.contains(token), "the token is in the agent's \(what)")
            #expect(!text.contains(String(fingerprint)), "the key's fingerprint is in the agent's \(what)")
        }
        await mock.shutdown()
        try cli.expectNoSecretLeaked()
    }
}

actor PeakInFlight {
    var value = 0
    func saw(_ n: Int) { value = max(value, n) }
}

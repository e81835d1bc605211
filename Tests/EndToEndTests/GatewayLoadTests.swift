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

    @Test("1,000 concurrent SSE streams through the real agent, each byte-identical; no key, token or fingerprint in its log or metrics")
    func thousandStreams() async throws {
        _ = ConnectionLimits.raiseDescriptorLimit()
        try await withMock { mock in
        mock.streamDelay = .milliseconds(400)  // each stream lasts about 8 s: they overlap, even on a busy machine
        let cli = CLIHarness()
        try cli.initVault()
        let key = FakeKeys.anthropic("p")
        _ = try cli.addKey("anthropic", scope: "prod", value: key)
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
        let created = try cli.ok(["token", "create", "load", "--scope", "prod", "--provider", "anthropic"])
        let token = String(try #require((created.out + created.err).firstMatch(of: /kwt_[A-Za-z0-9_-]{43}/)).output)
        let fingerprint = try #require(try cli.ok(["key", "list", "--scope", "prod", "--json"]).out.firstMatch(of: /"fingerprint" *: *"([0-9a-f]+)"/)).output.1
        let log = cli.directory.file("agent.log")
        let agent = try RunningAgent(cli, extra: ["--gateway", "127.0.0.1:0"], shellPrefix: "exec 2>\(log);")
        defer { agent.stop() }
        let health = try agentGET(cli, "/v1/health")
        let gateway = String(try #require(health.firstMatch(of: /"gateway":"(http:\/\/127\.0\.0\.1:[0-9]+)"/)).output.1)

        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(30), read: .seconds(60)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1100)
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        let expected = MockProviderServer.expectedStream(provider: "anthropic")
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
        // The agent's metrics through the same client, over its socket: no process may be
        // spawned here while this process holds 2,000 sockets (Foundation's Process.run
        // crashed so, signal 11, once in CI).
        let socketPath = cli.environment["KEYWARDEN_SOCKET"]!.replacingOccurrences(of: "/", with: "%2F")
        let metricsAnswer = try await client.execute(HTTPClientRequest(url: "http+unix://\(socketPath)/metrics"), timeout: .seconds(30))
        let metrics = String(buffer: try await metricsAnswer.body.collect(upTo: 1 << 22))
        try await client.shutdown()
        #expect(identical == 1000)
        // All 1,000 are served; how many overlap depends on how fast this process's
        // client opens them (828–982 seen on 2 cores): far from one after another.
        #expect(concurrent >= 500, "at most \(concurrent) streams were open at once")
        let status = (try? String(contentsOfFile: "/proc/\(agent.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let hwm = status.split(separator: "\n").first { $0.hasPrefix("VmHWM") } ?? "VmHWM: ?"
        print("gateway load: \(identical)/1000 streams identical; \(concurrent) open at once (client); agent \(hwm)")
        #expect(metrics.contains("outcome=\"ok\"} 1000"))
        agent.stop()
        let logged = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(logged.contains("gateway listening on"))
        for (what, text) in [("log", logged), ("metrics", metrics)] {
            #expect(!text.contains(key), "the key is in the agent's \(what)")
            #expect(!text.contains(token), "the token is in the agent's \(what)")
            #expect(!text.contains(String(fingerprint)), "the key's fingerprint is in the agent's \(what)")
        }
        try cli.expectNoSecretLeaked()
        }
    }
}

extension GatewayLoadTests {
    @Test("at trace level the agent logs no key, token or fingerprint, for answers, refusals and failovers")
    func traceLogHoldsNoSecret() async throws {
        try await withMock { mock in
        let cli = CLIHarness()
        try cli.initVault()
        let revoked = "sk-ant-api03-" + String(repeating: "r", count: 60) + "-invalid-" + String(repeating: "r", count: 20)
        let good = FakeKeys.anthropic("g")
        _ = try cli.addKey("anthropic", scope: "prod", value: revoked, extra: ["--force"])
        _ = try cli.addKey("anthropic", scope: "prod", value: good)
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--failover", "on"])
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
        let created = try cli.ok(["token", "create", "trace", "--scope", "prod", "--provider", "anthropic"])
        let token = String(try #require((created.out + created.err).firstMatch(of: /kwt_[A-Za-z0-9_-]{43}/)).output)
        let log = cli.directory.file("agent.log")
        cli.environment["KEYWARDEN_LOG_LEVEL"] = "trace"
        let agent = try RunningAgent(cli, extra: ["--gateway", "127.0.0.1:0"], shellPrefix: "exec 2>\(log);")
        defer { agent.stop() }
        let gateway = String(try #require(try agentGET(cli, "/v1/health").firstMatch(of: /"gateway":"(http:\/\/127\.0\.0\.1:[0-9]+)"/)).output.1)
        let headers = cli.directory.file("headers")
        try Data("x-api-key: \(token)\ncontent-type: application/json\n".utf8).write(to: URL(fileURLWithPath: headers))
        var statuses: [String] = []
        for stream in [false, true, false] {
            let body = stream ? #"{"model":"m","stream":true}"# : #"{"model":"m"}"#
            statuses.append(try CommandRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "20", "-X", "POST", "-H", "@\(headers)",
                                                                   "-d", body, gateway + "/anthropic/v1/messages"], environment: cli.environment).out)
        }
        // The revoked key answered 401; the request went on to the good key, and the pool failed over.
        #expect(statuses == ["200", "200", "200"])
        // A provider key sent instead of a token: refused, and logged nowhere.
        try Data("x-api-key: \(good)\n".utf8).write(to: URL(fileURLWithPath: headers))
        #expect(try CommandRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "20", "-X", "POST", "-H", "@\(headers)",
                                                       "-d", "{}", gateway + "/anthropic/v1/messages"], environment: cli.environment).out == "401")
        var failedOver = false
        for _ in 0..<50 where !failedOver {
            failedOver = try cli.ok(["audit", "--action", "key.failover"]).out.contains("failover")
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(failedOver)
        let metrics = try agentGET(cli, "/metrics")
        agent.stop()
        let logged = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(logged.contains("trace") || logged.contains("debug"), "the agent logged at trace level")
        let fingerprints = try cli.ok(["key", "list", "--scope", "prod", "--json"]).out.matches(of: /"fingerprint" *: *"([0-9a-f]+)"/).map { String($0.output.1) }
        for (what, text) in [("trace log", logged), ("metrics", metrics)] {
            for secret in [revoked, good, token] + fingerprints {
                #expect(!text.contains(secret), "a key, the token or a fingerprint is in the agent's \(what)")
            }
        }
        try cli.expectNoSecretLeaked()
        }
    }
}

/// Runs `body` with a mock provider that is shut down when it returns or
/// throws, awaited (a shutdown left to a task could race the process's exit).
func withMock(_ body: (MockProviderServer) async throws -> Void) async throws {
    let mock = try await MockProviderServer.start()
    do {
        try await body(mock)
    } catch {
        await mock.shutdown()
        throw error
    }
    await mock.shutdown()
}

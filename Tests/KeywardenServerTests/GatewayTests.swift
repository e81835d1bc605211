import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardenCore
import KeywardenMockProvider
@testable import KeywardenServer
import NIOCore
import Testing

/// The gateway in front of the mock providers: what it forwards, with which
/// key, and what it does with each kind of answer.
@Suite struct GatewayTests {
    @Test func forwardsWithThePoolKeyAndKeepsTheClientsHeaders() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        let answer = try await gw.messages(token: token, extra: [("anthropic-beta", "tools-2024-05-16"), ("x-keywarden-scope", "prod")])
        #expect(answer.status == 200)
        #expect(answer.body == MockProviderServer.expectedMessage(provider: "anthropic"))
        let seen = try #require(gw.mock.requests.last)
        #expect(seen.method == "POST" && seen.path == "/anthropic/v1/messages")
        #expect(seen.header("x-api-key") == TestKeys.anthropic)
        #expect(seen.header("anthropic-beta") == "tools-2024-05-16")
        #expect(seen.header("anthropic-version") == "2023-06-01")
        #expect(seen.header("x-keywarden-scope") == nil)
        // The client's token goes nowhere.
        #expect(!seen.headers.contains { $0.value.contains("kwt_") })
        #expect(seen.bodyText.contains("claude-sonnet-4-5"))
    }

    @Test func streamedAnswerIsByteIdenticalToTheDirectOne() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        gw.mock.streamDelay = .milliseconds(20)
        let token = try gw.token("app")
        // Directly to the mock, with the key itself.
        var direct = HTTPClientRequest(url: gw.mock.baseURL(for: "anthropic") + "/v1/messages")
        direct.method = .POST
        direct.headers.add(name: "x-api-key", value: TestKeys.anthropic)
        direct.body = .bytes(ByteBuffer(string: #"{"model":"m","stream":true}"#))
        let directBody = try await gw.client.execute(direct, timeout: .seconds(10)).body.collect(upTo: 1 << 20)
        // Through the gateway: the first bytes arrive while the mock is still writing.
        var proxied = HTTPClientRequest(url: gw.origin + "/anthropic/v1/messages")
        proxied.method = .POST
        proxied.headers.add(name: "x-api-key", value: token)
        proxied.body = .bytes(ByteBuffer(string: #"{"model":"m","stream":true}"#))
        let started = Date()
        let response = try await gw.client.execute(proxied, timeout: .seconds(10))
        #expect(response.status == .ok)
        #expect(response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
        var bytes: [UInt8] = []
        var firstChunkAfter: TimeInterval?
        for try await chunk in response.body {
            if firstChunkAfter == nil { firstChunkAfter = Date().timeIntervalSince(started) }
            bytes += chunk.readableBytesView
        }
        let total = Date().timeIntervalSince(started)
        #expect(bytes == Array(directBody.readableBytesView))
        #expect(bytes == MockProviderServer.expectedStream(provider: "anthropic"))
        // 20 events 20 ms apart: streamed, not gathered first.
        #expect(try #require(firstChunkAfter) < total - 0.2)
    }

    @Test func aRevokedKeyFailsOverAndNoClientRequestFails() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let alpha = try gw.addKey("anthropic", scope: "staging", words: "alpha")
        let beta = try gw.addKey("anthropic", scope: "staging", words: "beta")
        _ = try gw.vault.setRotationPolicy(provider: "anthropic", scope: "staging", RotationPolicyChange(failover: true))
        let token = try gw.token("app", scopes: ["staging"])
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            var statuses: [Int] = []
            for i in 0..<200 {
                if i >= 16 { statuses.append(try await group.next()!) }
                if i == 50 { gw.mock.setScenario(forKeyContaining: "alpha", "invalid") }
                group.addTask { try await gw.messages(token: token).status }
            }
            for try await status in group { statuses.append(status) }
            return statuses
        }
        #expect(statuses.count == 200)
        #expect(statuses.allSatisfy { $0 == 200 }, "statuses: \(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        #expect(try await eventually { try gw.vault.listKeys(KeyFilter(provider: "anthropic", scope: "staging")).first { $0.id == alpha.id }?.state == .failed })
        let keys = try gw.vault.listKeys(KeyFilter(provider: "anthropic", scope: "staging"))
        #expect(keys.first { $0.id == beta.id }?.state == .active)
        let rejects = try gw.events("gateway.reject")
        #expect(rejects.contains { $0.keyID == alpha.id && $0.fingerprint == alpha.fingerprint && $0.outcome == "invalid" && $0.actor.contains("token 'app'") })
        // Over TCP the kernel lists the client's socket: the event names its uid and program (here, this test process).
        #expect(rejects.contains { $0.actor.contains("program ") && $0.uid == Int64(getuid()) && $0.pid == Int64(getpid()) }, "\(rejects.map { "\($0.actor) uid \($0.uid) pid \($0.pid)" })")
        #expect(try gw.events("key.failover").contains { $0.keyID == beta.id })
        #expect(gw.metrics.contains("keywarden_gateway_failovers_total{provider=\"anthropic\",scope=\"staging\",key=\"\(alpha.id)\"}"))
        // No key outside the pool was ever sent.
        let sent = Set(gw.mock.requests.compactMap { $0.header("x-api-key") })
        #expect(sent.allSatisfy { $0.contains("alpha") || $0.contains("beta") })
    }

    @Test func anOverloadIsRetriedThenSucceeds() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        try gw.addKey("anthropic", scope: "staging", words: "flakyoverload")
        let token = try gw.token("app", scopes: ["staging"])
        let answer = try await gw.messages(token: token)
        #expect(answer.status == 200)
        #expect(gw.mock.requests(withKeyContaining: "flakyoverload") == 2)
        #expect(gw.metrics.contains("reason=\"provider_error\"} 1"))
    }

    @Test func aRateLimitWithNoOtherKeyReachesTheClientUnchanged() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let key = try gw.addKey("anthropic", scope: "staging", words: "ratelimited")
        let token = try gw.token("app", scopes: ["staging"])
        let answer = try await gw.messages(token: token)
        let documented = try #require(BuiltinProviders.provider(named: "anthropic")?.answer(for: "ratelimited")?.response)
        #expect(answer.status == 429)
        #expect(answer.body == documented.body)
        #expect(gw.mock.requests(withKeyContaining: "ratelimited") == 1)
        #expect(gw.metrics.contains("keywarden_gateway_cooldowns_total{provider=\"anthropic\",scope=\"staging\",key=\"\(key.id)\"} 1"))
    }

    @Test func tokenScopeIsEnforced() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let devOnly = try gw.token("dev-app", scopes: ["dev"])
        let before = gw.mock.requests.count
        #expect(try await gw.messages(token: devOnly, extra: [("x-keywarden-scope", "prod")]).status == 404)
        let openaiOnly = try gw.token("openai-app", scopes: ["prod"], providers: ["openai"])
        #expect(try await gw.messages(token: openaiOnly).status == 404)
        let both = try gw.token("both", scopes: ["dev", "prod"])
        #expect(try await gw.messages(token: both).status == 400)
        #expect(gw.mock.requests.count == before)
        // Named, and granted: the dev key serves.
        #expect(try await gw.messages(token: both, extra: [("x-keywarden-scope", "dev")]).status == 200)
        #expect(gw.mock.requests.last?.header("x-api-key") == TestKeys.anthropic2)
    }

    @Test func malformedRequestsGetA4xxAndReachNoProvider() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        let other = try gw.token("other")
        #expect(try await gw.send(.POST, "/nosuch/v1/messages", headers: [("x-api-key", token)], body: "{}").status == 404)
        #expect(try await gw.send(.POST, "/anthropic/v1/messages", body: "{}").status == 401)
        let keyInstead = try await gw.send(.POST, "/anthropic/v1/messages", headers: [("x-api-key", TestKeys.anthropic)], body: "{}")
        #expect(keyInstead.status == 401)
        #expect(!keyInstead.text.contains(TestKeys.anthropic))
        #expect(try await gw.send(.POST, "/anthropic/v1/messages", headers: [("x-api-key", token), ("authorization", "Bearer \(other)")], body: "{}").status == 400)
        #expect(try rawTCPStatusLine(port: gw.port, "POST /anthropic/v1/%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\ncontent-length: 2\r\n\r\n{}") == "HTTP/1.1 400 Bad Request")
        #expect(try rawTCPStatusLine(port: gw.port, "POST /anthropic/v1/a\\b HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\ncontent-length: 2\r\n\r\n{}") == "HTTP/1.1 400 Bad Request")
        #expect(try rawTCPStatusLine(port: gw.port, "GARBAGE\r\n\r\n").hasPrefix("HTTP/1.1 400"))
        #expect(try await gw.send(.POST, "/anthropic/v1/messages", headers: [("x-api-key", token), ("origin", "https://evil.example")], body: "{}").status == 403)
        #expect(try await gw.send(.POST, "/anthropic/v1/messages", headers: [("x-api-key", token), ("host", "evil.example")], body: "{}").status == 403)
        #expect(gw.mock.requests.isEmpty)
        // And it still serves.
        #expect(try await gw.messages(token: token).status == 200)
    }

    @Test func aHungUpstreamTimesOut() async throws {
        let gw = try await GatewayFixture.start(settings: GatewayFixture.fastTimeouts)
        defer { Task { await gw.shutdown() } }
        try gw.addKey("anthropic", scope: "staging", words: "hang")
        let token = try gw.token("app", scopes: ["staging"])
        let started = Date()
        let answer = try await gw.messages(token: token)
        #expect(answer.status == 504)
        // Three attempts of 1 s within the 3 s budget, plus backoff; timers run late on a busy machine.
        #expect(Date().timeIntervalSince(started) < 8)
        #expect(gw.metrics.contains("outcome=\"timeout\""))
        #expect(try await eventually { gw.mock.openConnections == 0 })
    }

    @Test func aRedirectIsNotFollowed() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        try gw.addKey("anthropic", scope: "staging", words: "redirect")
        let token = try gw.token("app", scopes: ["staging"])
        let answer = try await gw.messages(token: token)
        #expect(answer.status == 502)
        #expect(answer.headers.first(name: "x-should-retry") == "false")
        #expect(answer.headers.first(name: "location") == nil)
    }

    @Test func otherUsersWithoutATokenAreRefusedOnTheSocket() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        let body = ByteBuffer(string: #"{"model":"m","max_tokens":8,"messages":[]}"#)
        try await gw.fixture.test { client in
            let other = String(AgentFixture.other)
            try await client.execute(uri: "/gw/anthropic/v1/messages", method: .post,
                                     headers: [HeaderPeers.header: other, .contentType: "application/json"], body: body) { response in
                #expect(response.status == .forbidden)
            }
            #expect(gw.mock.requests.isEmpty)
            try await client.execute(uri: "/gw/anthropic/v1/messages", method: .post,
                                     headers: [HeaderPeers.header: other, HTTPField.Name("x-api-key")!: token], body: body) { response in
                #expect(response.status == .ok)
            }
            // The owner needs no token, but names the scope (the gateway has no default).
            try await client.execute(uri: "/gw/anthropic/v1/messages", method: .post,
                                     headers: [HeaderPeers.header: String(AgentFixture.owner), HTTPField.Name("x-keywarden-scope")!: "prod"], body: body) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(gw.mock.requests.count == 2)
        #expect(try gw.events("agent.deny").contains { $0.detail?.contains("sent the gateway no token") == true })
    }
}

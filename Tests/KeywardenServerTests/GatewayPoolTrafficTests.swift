import AsyncHTTPClient
import Foundation
import KeywardenCore
import KeywardenMockProvider
@testable import KeywardenServer
import NIOCore
import Testing

/// Spreading pools, TLS to the provider, and what the gateway writes down.
@Suite struct GatewayPoolTrafficTests {
    @Test func aRateLimitOnOneKeyOfASpreadingPoolShiftsTrafficToTheOthers() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let limited = try gw.addKey("anthropic", scope: "staging", words: "first-ratelimited")
        try gw.addKey("anthropic", scope: "staging", words: "second")
        try gw.addKey("anthropic", scope: "staging", words: "third")
        _ = try gw.vault.setRotationPolicy(provider: "anthropic", scope: "staging", RotationPolicyChange(spread: .roundRobin))
        let token = try gw.token("app", scopes: ["staging"])
        var statuses: [Int] = []
        let started = Date()
        for _ in 0..<60 { statuses.append(try await gw.messages(token: token).status) }
        let elapsed = Date().timeIntervalSince(started)
        #expect(statuses.allSatisfy { $0 == 200 })
        // The limited key is tried, then rests for its retry-after (1 s) while the others
        // serve; it is tried again only after each rest (on a slow machine, 60 requests
        // outlast several rests). Every request it refused went on to another key.
        let limitedTries = gw.mock.requests(withKeyContaining: "first-ratelimited")
        #expect(limitedTries >= 1 && Double(limitedTries) <= 1 + elapsed, "\(limitedTries) tries in \(elapsed) s")
        let second = gw.mock.requests(withKeyContaining: "second"), third = gw.mock.requests(withKeyContaining: "third")
        #expect(second + third == 60)
        #expect(abs(second - third) <= 2 + limitedTries, "round-robin: \(second) vs \(third)")
        #expect(gw.metrics.contains("keywarden_gateway_cooldowns_total{provider=\"anthropic\",scope=\"staging\",key=\"\(limited.id)\"} \(limitedTries)"))
    }

    @Test func everyKeyRateLimitedPassesTheProvidersAnswerOn() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        try gw.addKey("anthropic", scope: "staging", words: "one-ratelimited")
        try gw.addKey("anthropic", scope: "staging", words: "two-ratelimited")
        _ = try gw.vault.setRotationPolicy(provider: "anthropic", scope: "staging", RotationPolicyChange(spread: .leastInFlight))
        let token = try gw.token("app", scopes: ["staging"])
        let answer = try await gw.messages(token: token)
        let documented = try #require(BuiltinProviders.provider(named: "anthropic")?.answer(for: "ratelimited")?.response)
        #expect(answer.status == 429)
        #expect(answer.body == documented.body)
        #expect(gw.mock.requests(withKeyContaining: "ratelimited") == 2)
    }

    @Test func withoutSpreadOnlyTheActiveKeyServes() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        try gw.addKey("anthropic", scope: "staging", words: "active")
        try gw.addKey("anthropic", scope: "staging", words: "standby")
        _ = try gw.vault.setRotationPolicy(provider: "anthropic", scope: "staging", RotationPolicyChange(failover: true))
        let token = try gw.token("app", scopes: ["staging"])
        for _ in 0..<10 { #expect(try await gw.messages(token: token).status == 200) }
        #expect(gw.mock.requests(withKeyContaining: "active") == 10)
        #expect(gw.mock.requests(withKeyContaining: "standby") == 0)
    }

    @Test func anOverloadThatPersistsIsRetriedTwiceThenPassedOn() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        try gw.addKey("anthropic", scope: "staging", words: "overloaded")
        let token = try gw.token("app", scopes: ["staging"])
        gw.mock.setScenario(forKeyContaining: "overloaded", "overloaded")
        let answer = try await gw.messages(token: token)
        // The documented 529 is retried twice (within the budget), then passed on unchanged.
        #expect(answer.status == 529)
        #expect(gw.mock.requests(withKeyContaining: "overloaded") == 3)
        #expect(answer.headers.first(name: "x-keywarden-key") == nil)
    }

    @Test func tlsToTheProviderIsVerified() async throws {
        // Not trusted: the mock's self-signed certificate fails verification, and nothing is sent.
        let untrusted = try await GatewayFixture.start()
        defer { Task { await untrusted.shutdown() } }
        _ = try untrusted.vault.updateProvider("anthropic", baseURL: "https://localhost:\(untrusted.mock.tlsPort)/anthropic", env: nil)
        let refused = try await untrusted.messages(token: try untrusted.token("app"))
        #expect(refused.status == 502)
        #expect(refused.text.contains("tls_error"))
        #expect(refused.headers.first(name: "x-should-retry") == "false")
        #expect(untrusted.mock.tlsApplicationBytes.isEmpty)
        // Trusted through the CA file (`serve --ca-file`): forwarded.
        let trusted = try await GatewayFixture.start(trustMock: true)
        defer { Task { await trusted.shutdown() } }
        _ = try trusted.vault.updateProvider("anthropic", baseURL: "https://localhost:\(trusted.mock.tlsPort)/anthropic", env: nil)
        let answer = try await trusted.messages(token: try trusted.token("app"))
        #expect(answer.status == 200)
        #expect(trusted.mock.tlsConnections >= 1)
    }

    @Test func metricsAndAuditNameKeysByIDNeverByValue() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        for _ in 0..<3 { #expect(try await gw.messages(token: token).status == 200) }
        let metrics = gw.metrics
        #expect(metrics.contains("keywarden_gateway_requests_total{provider=\"anthropic\",scope=\"prod\",key=\"\(gw.fixture.prodAnthropic.id)\",outcome=\"ok\"} 3"))
        #expect(metrics.contains("keywarden_gateway_upstream_duration_seconds_count{provider=\"anthropic\",scope=\"prod\",key=\"\(gw.fixture.prodAnthropic.id)\"} 3"))
        #expect(metrics.contains("keywarden_gateway_in_flight{provider=\"anthropic\",scope=\"prod\",key=\"\(gw.fixture.prodAnthropic.id)\"} 0"))
        for secret in TestKeys.all + [token] { #expect(!metrics.contains(secret)) }
        #expect(!metrics.contains(gw.fixture.prodAnthropic.fingerprint))
        // Traffic is written as one aggregated event per key and caller.
        await gw.gateway.traffic.flush()
        // (one event per 10 s window: a slow machine may have split the 3 over two)
        let forwards = try gw.events("gateway.forward")
        #expect((1...2).contains(forwards.count))
        #expect(forwards.allSatisfy { $0.keyID == gw.fixture.prodAnthropic.id })
        let counted = forwards.compactMap { $0.detail?.split(separator: " ").first.flatMap { Int($0) } }.reduce(0, +)
        #expect(counted == 3, "\(forwards.map(\.detail))")
        let keys = try gw.vault.listKeys(KeyFilter(provider: "anthropic", scope: "prod"))
        #expect(keys.first?.traffic24h?.ok == 3)
        for event in try gw.fixture.reopen().auditEvents(AuditFilter()) {
            for secret in TestKeys.all + [token] { #expect(!"\(event)".contains(secret)) }
        }
    }
}

import Foundation
import KeywardenCore
import KeywardenMockProvider
@testable import KeywardenServer
import Testing

/// Balances and rate-limit headroom as the agent exports them, and as the gateway records them.
@Suite struct HeadroomMetricsTests {
    @Test("the gateway keeps the provider's rate-limit headers and commits them with its traffic; the key shows them")
    func gatewayRecordsRateLimits() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        for _ in 0..<3 { #expect(try await gw.messages(token: token).status == 200) }
        await gw.gateway.traffic.flush()
        let key = try gw.vault.key(id: gw.fixture.prodAnthropic.id)
        let limits = try #require(key.rateLimits)
        #expect(limits.source == "gateway")
        #expect(limits.limits.first { $0.name == "requests" } == RateLimitHeadroom.Limit(name: "requests", limit: 50, remaining: 47, reset: "2026-11-30T01:00:00Z"))
        #expect(limits.limits.contains { $0.name == "tokens" && $0.remaining == 39000 })
    }

    @Test("/metrics exports balances and rate-limit headroom as gauges by provider, scope and key id, never a value or fingerprint")
    func gauges() async throws {
        let fixture = try AgentFixture()
        let key = fixture.prodAnthropic
        let seen = try #require(RateLimitHeadroom.parse([("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "7")],
                                                        at: .now(), source: "gateway"))
        try fixture.vault.recordGatewayTraffic([], rateLimits: [key.id: seen])
        try await fixture.test { client in
            let body = try await client.send(.get, "/metrics").body
            #expect(body.contains("# TYPE keywarden_key_balance gauge"))
            #expect(body.contains("keywarden_key_ratelimit_remaining{provider=\"anthropic\",scope=\"prod\",key=\"\(key.id)\",limit=\"requests\"} 7"), "\(body)")
            #expect(body.contains("keywarden_key_ratelimit_limit{provider=\"anthropic\",scope=\"prod\",key=\"\(key.id)\",limit=\"requests\"} 50"))
            #expect(!body.contains(key.fingerprint))
            for secret in TestKeys.all { #expect(!body.contains(secret)) }
        }
        let entry = KeyBalanceEntry(keyID: "k_abc", provider: "deepseek", scope: "prod", state: .active,
                                    balance: KeyBalance(amount: "3.20", currency: "CNY", checkedAt: Timestamp(millisecondsSince1970: 1_764_464_400_000)), rateLimits: nil)
        let text = HeadroomMetrics.render([entry])
        #expect(text.contains("keywarden_key_balance{provider=\"deepseek\",scope=\"prod\",key=\"k_abc\",currency=\"CNY\"} 3.2"))
        #expect(text.contains("keywarden_key_balance_checked_timestamp_seconds{provider=\"deepseek\",scope=\"prod\",key=\"k_abc\"} 1764464400"))
    }
}

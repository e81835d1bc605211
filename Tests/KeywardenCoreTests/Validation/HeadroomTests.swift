import Foundation
import NIOCore
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenMockProvider

@Suite("Balances and rate-limit headroom: read without spending tokens, recorded per key", .serialized)
struct HeadroomTests {
    func validator() -> Validator {
        Validator(client: ProbeClient(resolver: OfflineResolver(), proxies: ProxySettings(environment: [:])), timeout: .seconds(30),
                  concurrency: 8, sleep: { _ in })
    }

    func definition(_ name: String) throws -> ProviderDefinition { try #require(BuiltinProviders.named(name)) }

    @Test("rate-limit headers: OpenAI/Groq style, OpenRouter's bare ones, Anthropic's; other headers ignored")
    func parseHeaders() throws {
        let openai = try #require(RateLimitHeadroom.parse([
            ("X-RateLimit-Limit-Requests", "500"), ("x-ratelimit-remaining-requests", "499"), ("x-ratelimit-reset-requests", "120ms"),
            ("x-ratelimit-limit-tokens", "30000"), ("x-ratelimit-remaining-tokens", "29000"), ("x-request-id", "req_1"), ("content-type", "application/json"),
        ], at: .now(), source: "validate"))
        #expect(openai.limits == [RateLimitHeadroom.Limit(name: "requests", limit: 500, remaining: 499, reset: "120ms"),
                                  RateLimitHeadroom.Limit(name: "tokens", limit: 30000, remaining: 29000)])
        #expect(openai.display == "requests 499/500, tokens 29000/30000")
        let openrouter = try #require(RateLimitHeadroom.parse([("x-ratelimit-limit", "20"), ("x-ratelimit-remaining", "0")], at: .now(), source: "gateway"))
        #expect(openrouter.limits == [RateLimitHeadroom.Limit(name: "requests", limit: 20, remaining: 0)])
        let anthropic = try #require(RateLimitHeadroom.parse([
            ("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "49"),
            ("anthropic-ratelimit-input-tokens-limit", "40000"), ("anthropic-ratelimit-input-tokens-remaining", "39000"),
            ("anthropic-ratelimit-requests-reset", "2026-11-30T01:00:00Z"), ("anthropic-version", "2023-06-01"),
        ], at: .now(), source: "validate"))
        #expect(anthropic.limits.map(\.name) == ["input-tokens", "requests"])
        #expect(anthropic.limits.last?.reset == "2026-11-30T01:00:00Z")
        #expect(RateLimitHeadroom.parse([("x-request-id", "1"), ("authorization", "Bearer secret")], at: .now(), source: "validate") == nil)
        #expect(RateLimitHeadroom.parse([("x-ratelimit-reset-requests", "1s")], at: .now(), source: "validate") == nil, "a reset alone says nothing left")
    }

    @Test("hostile answers: at most eight limits from made-up header names, odd characters ignored; a balance that is not decimal text is not a balance")
    func hostileAnswers() throws {
        let flood = (0..<200).map { ("x-ratelimit-remaining-made-up-\($0)", "1") } + [("x-ratelimit-remaining-Evil\u{1B}[2J", "1")]
        let parsed = try #require(RateLimitHeadroom.parse(flood, at: .now(), source: "gateway"))
        #expect(parsed.limits.count == 8)
        #expect(parsed.limits.allSatisfy { !$0.name.contains("\u{1B}") })
        let probe = BalanceProbe(amount: "balance")
        for text in ["nan", "inf", "-inf", "0x1p4", "1e3", "", "1.", ".5", "1.2.3", "١٢"] {
            #expect(probe.read(Array(#"{"balance":"\#(text)"}"#.utf8), host: nil, at: .now()) == nil, "\(text)")
        }
        #expect(probe.read(Array(#"{"balance":"-3.20"}"#.utf8), host: nil, at: .now())?.amount == "-3.20")
        #expect(probe.read(Array(#"{"balance":12}"#.utf8), host: nil, at: .now())?.amount == "12")
    }

    @Test("balance probes read the providers' documented answers: amount as written, currency from the answer, the docs or the host")
    func readDocumented() throws {
        let now = Timestamp.now()
        func documented(_ provider: String, _ scenario: String) throws -> (BalanceProbe, [UInt8]) {
            let builtin = try #require(BuiltinProviders.provider(named: provider))
            let answer = try #require(builtin.answer(for: scenario))
            return (try #require(builtin.definition.balance), answer.response.body)
        }
        let (deepseek, dsBody) = try documented("deepseek", "valid")
        let ds = try #require(deepseek.read(dsBody, host: "api.deepseek.com", at: now))
        #expect(ds == KeyBalance(amount: "110.00", currency: "CNY", checkedAt: now))
        let (openrouter, orBody) = try documented("openrouter", "valid")
        let or = try #require(openrouter.read(orBody, host: "openrouter.ai", at: now))
        #expect(or.amount == "74.5" && or.currency == "USD")
        let (_, overBody) = try documented("openrouter", "overspent")
        let over = try #require(openrouter.read(overBody, host: nil, at: now))
        #expect(over.amount == "-0.0731" && over.value! < 0)
        // No limit on the key: nothing to record.
        #expect(openrouter.read(Array(#"{"data":{"limit":null,"limit_remaining":null}}"#.utf8), host: nil, at: now) == nil)
        let moonshot = try #require(try definition("moonshot").balance)
        let body = Array(#"{"code":0,"data":{"available_balance":49.58,"voucher_balance":0,"cash_balance":49.58},"scode":"0x0","status":true}"#.utf8)
        #expect(moonshot.read(body, host: "api.moonshot.ai", at: now)?.display == "49.58 USD")
        #expect(moonshot.read(body, host: "api.moonshot.cn", at: now)?.display == "49.58 CNY")
        #expect(moonshot.read(Array("not json".utf8), host: nil, at: now) == nil)
        #expect(moonshot.read(Array(#"{"data":{"available_balance":"lots"}}"#.utf8), host: nil, at: now) == nil, "not a number")
    }

    @Test("validate against the mock: balances from DeepSeek's probe, OpenRouter's key limit and Moonshot's own endpoint; rate limits from OpenAI's headers")
    func validateReadsBalances() async throws {
        let mock = try await MockProviderServer.start()
        defer { Task { await mock.shutdown() } }
        mock.setBalance(forKeyContaining: "lowds", "3.20")
        let keys = [
            ValidatorTests.key(try definition("deepseek"), "valid-ds", baseURL: mock.baseURL(for: "deepseek")),
            ValidatorTests.key(try definition("deepseek"), "valid-lowds", baseURL: mock.baseURL(for: "deepseek")),
            ValidatorTests.key(try definition("openrouter"), "valid-or", baseURL: mock.baseURL(for: "openrouter")),
            ValidatorTests.key(try definition("moonshot"), "valid-ms", baseURL: mock.baseURL(for: "moonshot")),
            ValidatorTests.key(try definition("openai"), "valid-oa", baseURL: mock.baseURL(for: "openai")),
            ValidatorTests.key(try definition("moonshot"), "invalid-ms", baseURL: mock.baseURL(for: "moonshot")),
        ]
        let checks = await validator().check(keys)
        #expect(checks.map(\.outcome) == [.valid, .valid, .valid, .valid, .valid, .invalid])
        #expect(checks[0].balance?.display == "110.00 CNY")
        #expect(checks[1].balance?.display == "3.20 CNY")
        #expect(checks[2].balance?.display == "74.5 USD")
        #expect(checks[3].balance?.display == "49.58 USD", "Moonshot's balance comes from GET /v1/users/me/balance")
        #expect(checks[4].balance == nil, "OpenAI tells no balance")
        #expect(checks[4].rateLimits?.limits.first { $0.name == "requests" }?.limit == 500)
        #expect(checks[4].rateLimits?.source == "validate")
        #expect(checks[5].balance == nil, "a key the provider rejects is not asked for its balance")
        #expect(mock.requests.filter { $0.path.hasSuffix("/users/me/balance") }.count == 1)
        let json = String(decoding: try JSONEncoder().encode(checks[1]), as: UTF8.self)
        #expect(json.contains(#""balance":{"#) && json.contains(#""amount":"3.20""#))
    }

    @Test("a drained key is no_credit and comes back valid when its balance is restored")
    func drainedAndRestored() async throws {
        let mock = try await MockProviderServer.start()
        defer { Task { await mock.shutdown() } }
        for provider in ["deepseek", "openrouter", "moonshot"] {
            let key = ValidatorTests.key(try definition(provider), "valid-drain-\(provider)", baseURL: mock.baseURL(for: provider))
            mock.setBalance(forKeyContaining: "drain-\(provider)", "0")
            let drained = await validator().checkOne(key)
            #expect(drained.outcome == .noCredit, "\(provider): \(drained.reason)")
            mock.setBalance(forKeyContaining: "drain-\(provider)", "25.00")
            let restored = await validator().checkOne(key)
            #expect(restored.outcome == .valid, "\(provider): \(restored.reason)")
            #expect(restored.balance?.value == 25)
        }
    }

    @Test("recorded per key: key list, key show and status carry the balance; rate limits too; both backends", arguments: TestBackend.available)
    func recorded(backend: TestBackend) async throws {
        let mock = try await MockProviderServer.start()
        defer { Task { await mock.shutdown() } }
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.updateProvider("deepseek", baseURL: mock.baseURL(for: "deepseek"), env: nil)
        _ = try f.vault.updateProvider("openai", baseURL: mock.baseURL(for: "openai"), env: nil)
        let ds = try f.vault.addKey(provider: "deepseek", scope: "prod", label: "main", env: nil, value: secret("sk-valid-recorded-ds-0001"), activate: true, force: true)
        let oa = try f.vault.addKey(provider: "openai", scope: "prod", label: "main", env: nil, value: secret("sk-valid-recorded-oa-0001"), activate: true, force: true)
        mock.setBalance(forKeyContaining: "recorded-ds", "0.50")
        let checks = await validator().check(try f.vault.keysToCheck(ValidationSelection()))
        try f.vault.recordChecks(checks, by: "validate")

        let listed = try f.vault.listKeys(KeyFilter())
        #expect(listed.first { $0.id == ds.key.id }?.balance?.display == "0.50 CNY")
        #expect(listed.first { $0.id == oa.key.id }?.balance == nil)
        let shown = try f.vault.key(id: oa.key.id)
        #expect(shown.rateLimits?.limits.contains { $0.name == "tokens" && $0.remaining == 29000 } == true)
        let status = try f.vault.status()
        #expect(status.balances?.map(\.keyID) == [ds.key.id])
        #expect(status.balances?.first?.balance?.amount == "0.50")
        let entries = try f.vault.headroomEntries()
        #expect(Set(entries.map(\.keyID)) == [ds.key.id, oa.key.id])

        // A later check replaces the balance and keeps the rate limits it does not carry.
        mock.setBalance(forKeyContaining: "recorded-ds", "12")
        try f.vault.recordChecks(await validator().check(try f.vault.keysToCheck(ValidationSelection(keyID: ds.key.id))), by: "validate")
        #expect(try f.vault.key(id: ds.key.id).balance?.amount == "12")
        // The balance is no secret, but the key's value never reaches the table.
        if backend == .sqlite {
            #expect(!String(decoding: f.fileBytes(), as: UTF8.self).contains("sk-valid-recorded"))
        }
        // Removing the key removes its row.
        _ = try f.vault.removeKey(id: ds.key.id, force: true)
        #expect(try f.vault.headroomEntries().map(\.keyID) == [oa.key.id])
    }

    @Test("the gateway's rate-limit headers are committed with its traffic flush; a key removed meanwhile is skipped")
    func gatewayCommit() throws {
        let f = try VaultFixture()
        let key = try f.vault.addKey(provider: "openai", scope: "prod", label: "main", env: nil, value: secret(TestKeys.openai), activate: true, force: false)
        let seen = try #require(RateLimitHeadroom.parse([("x-ratelimit-limit-requests", "500"), ("x-ratelimit-remaining-requests", "12")],
                                                        at: .now(), source: "gateway"))
        try f.vault.recordGatewayTraffic([], rateLimits: [key.key.id: seen, "k_gone": seen])
        let shown = try f.vault.key(id: key.key.id)
        #expect(shown.rateLimits == seen)
        #expect(try f.vault.headroomEntries().count == 1)
    }
}

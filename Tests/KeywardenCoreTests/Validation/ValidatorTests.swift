import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenMockProvider

/// A resolver that fails for `*.invalid` without asking any DNS server.
struct OfflineResolver: HostResolver {
    func resolve(host: String, port: Int) async throws -> [SocketAddress] {
        if host.hasSuffix(".invalid") { throw SystemResolver.ResolutionError(code: -2, message: "Name or service not known") }
        return try await SystemResolver().resolve(host: host, port: port)
    }
}

/// Records the waits between attempts instead of sleeping through them.
actor SleepRecorder {
    private(set) var waits: [Double] = []
    func sleep(_ seconds: Double) { waits.append(seconds) }
}

@Suite("Validator against the mock provider server", .serialized)
struct ValidatorTests {
    static func key(_ provider: ProviderDefinition, _ words: String, baseURL: String) -> KeyToCheck {
        var definition = provider
        definition.baseURL = baseURL
        let value = "kw-\(words)-\(UUID().uuidString.prefix(8))"
        let now = Timestamp.now()
        let info = KeyInfo(KeyRecord(
            id: "k_\(words.prefix(20))", provider: provider.name, scope: "test", label: words, env: provider.env, state: .active, version: 1,
            nonce: Data(), ciphertext: Data(), hint: "…", fingerprint: String(repeating: "0", count: 64), createdAt: now, updatedAt: now))
        return KeyToCheck(key: info, provider: definition, value: SecureBytes(copying: Array(value.utf8)))
    }

    func validator(timeout: TimeAmount = .seconds(60), recorder: SleepRecorder = SleepRecorder(), proxies: [String: String] = [:]) -> Validator {
        Validator(client: ProbeClient(resolver: OfflineResolver(), proxies: ProxySettings(environment: proxies)), timeout: timeout,
                  concurrency: 16, sleep: { await recorder.sleep($0) })
    }

    @Test("every documented answer, sent over real HTTP, gets its outcome")
    func allCases() async throws {
        let mock = try await MockProviderServer.start()
        let answers = BuiltinProviders.list.flatMap { p in p.answers.map { (p.definition, $0) } }
        let keys = answers.map { p, a in Self.key(p, a.scenario, baseURL: mock.baseURL(for: p.name)) }
        let results = await validator(recorder: SleepRecorder()).check(keys)
        for ((p, a), result) in zip(answers, results) {
            #expect(result.outcome == a.expected, "\(p.name)/\(a.scenario): \(result.reason)")
        }
        await mock.shutdown()
    }

    @Test("rate limits are retried after the server's retry-after, within the attempt budget")
    func retryAfter() async throws {
        let mock = try await MockProviderServer.start()
        let recorder = SleepRecorder()
        let anthropic = BuiltinProviders.named("anthropic")!
        let result = await validator(recorder: recorder).checkOne(Self.key(anthropic, "ratelimited", baseURL: mock.baseURL(for: "anthropic")))
        #expect(result.outcome == .rateLimited)
        #expect(result.attempts == 3)
        #expect(mock.requests(withKeyContaining: "ratelimited") == 3)
        let hinted = BuiltinProviders.provider(named: "anthropic")!.answer(for: "ratelimited")!.response.header("retry-after").map { Double($0)! }
        #expect(await recorder.waits == [hinted!, hinted!])
        let ms = await validator(recorder: SleepRecorder()).checkOne(Self.key(BuiltinProviders.named("openai")!, "ratelimitedms", baseURL: mock.baseURL(for: "openai")))
        #expect(ms.outcome == .rateLimited)
        await mock.shutdown()
    }

    @Test("out of quota is not retried; a flaky 503 is retried until valid")
    func notRetried() async throws {
        let mock = try await MockProviderServer.start()
        let openai = BuiltinProviders.named("openai")!
        let quota = await validator().checkOne(Self.key(openai, "quotaexhausted", baseURL: mock.baseURL(for: "openai")))
        #expect(quota.outcome == .noCredit)
        #expect(quota.attempts == 1)
        let flaky = await validator().checkOne(Self.key(openai, "flaky", baseURL: mock.baseURL(for: "openai")))
        #expect(flaky.outcome == .valid)
        #expect(flaky.attempts == 3)
        await mock.shutdown()
    }

    @Test("network faults: hang and slow time out within the limit, reset, redirect, portal, closed port, TLS, DNS, proxy")
    func faults() async throws {
        let mock = try await MockProviderServer.start()
        let openai = BuiltinProviders.named("openai")!
        let base = mock.baseURL(for: "openai")
        let quick = validator(timeout: .milliseconds(1500))
        let clock = ContinuousClock()
        var result: KeyCheck!
        let hangTime = try await clock.measure { result = await quick.checkOne(Self.key(openai, "hang", baseURL: base)) }
        #expect(result.outcome == .timeout)
        #expect(hangTime < .seconds(2.5), "one hung provider cannot stall beyond --timeout")
        #expect(await quick.checkOne(Self.key(openai, "slow", baseURL: base)).outcome == .timeout)
        #expect(await validator().checkOne(Self.key(openai, "reset", baseURL: base)).outcome == .connectError)
        let redirect = await validator().checkOne(Self.key(openai, "redirect", baseURL: base))
        #expect(redirect.outcome == .unexpected)
        #expect(redirect.reason.contains("not followed"))
        #expect(mock.requests(withKeyContaining: "redirect") == 1, "the redirect target never got the key")
        #expect(await validator().checkOne(Self.key(openai, "portal", baseURL: base)).outcome == .unexpected)
        let closed = try await MockProviderServer.closedPort()
        let refused = await validator().checkOne(Self.key(openai, "valid", baseURL: "http://127.0.0.1:\(closed)"))
        #expect(refused.outcome == .connectError)
        #expect(refused.stage == .connect)
        let tls = await validator().checkOne(Self.key(openai, "valid", baseURL: mock.baseURL(for: "openai", tls: true)))
        #expect(tls.outcome == .tlsError)
        #expect(tls.reason.contains("could not be verified"))
        let dns = await validator().checkOne(Self.key(openai, "valid", baseURL: "https://api.keywarden-test.invalid"))
        #expect(dns.outcome == .dnsError)
        let proxied = await validator(proxies: ["HTTPS_PROXY": "http://127.0.0.1:\(closed)"]).checkOne(Self.key(openai, "valid", baseURL: "https://api.openai.com"))
        #expect(proxied.outcome == .proxyError)
        let bypassed = await validator(proxies: ["HTTP_PROXY": "http://127.0.0.1:\(closed)", "NO_PROXY": "127.0.0.1"]).checkOne(Self.key(openai, "valid", baseURL: base))
        #expect(bypassed.outcome == .valid)
        await mock.shutdown()
    }

    @Test("the key is sent only where the provider expects it")
    func placement() async throws {
        let mock = try await MockProviderServer.start()
        for name in ["anthropic", "gemini", "openai", "azure-openai"] {
            let provider = BuiltinProviders.named(name)!
            #expect(await validator().checkOne(Self.key(provider, "valid", baseURL: mock.baseURL(for: name))).outcome == .valid, "\(name)")
        }
        for (path, headers) in mock.received {
            let carriers = headers.filter { ["authorization", "x-api-key", "x-goog-api-key", "api-key"].contains($0.0.lowercased()) }
            #expect(carriers.count == 1, "\(path) carried the key \(carriers.count) times")
        }
        await mock.shutdown()
    }
}

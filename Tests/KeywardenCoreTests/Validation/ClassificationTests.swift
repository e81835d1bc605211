import Foundation
import KeywardenCrypto
import NIOCore
import Testing
@testable import KeywardenCore
import KeywardenMockProvider

@Suite("Classification: every documented provider answer")
struct ClassificationTests {
    /// "provider/scenario" for every documented answer of every built-in provider.
    static let answers = BuiltinProviders.list.flatMap { p in p.answers.map { "\(p.name)/\($0.scenario)" } }

    @Test("each provider answer classifies as documented (status and body)", arguments: answers)
    func documented(name: String) throws {
        let parts = name.split(separator: "/").map(String.init)
        let provider = try #require(BuiltinProviders.provider(named: parts[0]))
        let answer = try #require(provider.answer(for: parts[1]))
        let result = OutcomeClassifier.classify(status: answer.response.status, body: answer.response.body, rules: BuiltinRules.rules(for: provider.name))
        #expect(result.outcome == answer.expected, "\(name): \(result.reason)")
        #expect(!result.reason.isEmpty)
    }

    @Test("every built-in provider has valid and invalid answers in the mock, each scenario once, in lower-case letters")
    func coverage() {
        for provider in BuiltinProviders.list {
            let scenarios = provider.answers.map(\.scenario)
            #expect(Set(scenarios).isSuperset(of: ["valid", "invalid"]), "\(provider.name) lacks cases")
            #expect(Set(scenarios).count == scenarios.count, "\(provider.name) repeats a scenario")
            #expect(scenarios.allSatisfy { $0.allSatisfy { ("a"..."z").contains($0) } }, "\(provider.name): \(scenarios)")
        }
        #expect(BuiltinProviders.all.map(\.name) == BuiltinProviders.list.map(\.name))
    }

    @Test("the known traps: status codes that lie")
    func traps() {
        func outcome(_ provider: String, _ status: Int, _ body: String) -> ValidationOutcome {
            OutcomeClassifier.classify(status: status, body: Array(body.utf8), rules: BuiltinRules.rules(for: provider)).outcome
        }
        #expect(outcome("anthropic", 400, #"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#) == .noCredit)
        #expect(outcome("anthropic", 529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#) == .providerError)
        #expect(outcome("openai", 401, #"{"error":{"message":"You have insufficient permissions for this operation. Missing scopes: api.model.read.","type":"invalid_request_error","param":null,"code":null}}"#) == .forbidden)
        #expect(outcome("openai", 429, #"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#) == .noCredit)
        #expect(outcome("openai", 429, #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#) == .rateLimited)
        #expect(outcome("gemini", 400, #"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}"#) == .invalid)
        #expect(outcome("xai", 400, #"{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***. You can obtain an API key from https://console.x.ai."}"#) == .invalid)
        #expect(outcome("zhipu", 429, #"{"error":{"code":"1113","message":"您的账户已欠费，请充值后重试。"}}"#) == .noCredit)
    }

    @Test("a 2xx that is not JSON is unexpected, not valid (captive portals)")
    func portal() {
        let result = OutcomeClassifier.classify(status: 200, body: Array("<html>Sign in</html>".utf8), rules: [])
        #expect(result.outcome == .unexpected)
    }

    @Test("user-defined rules in JSON apply before the generic ones")
    func customRules() throws {
        let json = #"[{"status":[200],"json":[{"path":"data.active","equals":"false"}],"outcome":"invalid","reason":"key deactivated"}]"#
        let rules = try JSONDecoder().decode([OutcomeRule].self, from: Data(json.utf8))
        #expect(OutcomeClassifier.classify(status: 200, body: Array(#"{"data":{"active":false}}"#.utf8), rules: rules).outcome == .invalid)
        #expect(OutcomeClassifier.classify(status: 200, body: Array(#"{"data":{"active":true}}"#.utf8), rules: rules).outcome == .valid)
    }
}

@Suite("Retry policy and proxy settings")
struct RetryAndProxyTests {
    let policy = RetryPolicy()

    func response(_ status: Int, _ headers: [(String, String)]) -> ProbeResponse {
        ProbeResponse(status: status, headers: headers, body: [])
    }

    @Test("transient outcomes are retried with capped exponential backoff and jitter; others are not")
    func backoff() {
        #expect(policy.delay(after: 1, outcome: .invalid, response: nil) == nil)
        #expect(policy.delay(after: 1, outcome: .noCredit, response: nil) == nil)
        #expect(policy.delay(after: 1, outcome: .providerError, response: nil, random: 0) == 0.5)
        #expect(policy.delay(after: 2, outcome: .providerError, response: nil, random: 0) == 1.0)
        #expect(policy.delay(after: 2, outcome: .timeout, response: nil, random: 0.99)! > 0.75)
        #expect(policy.delay(after: 3, outcome: .providerError, response: nil) == nil, "three attempts in all")
        let long = RetryPolicy(maxAttempts: 20)
        #expect(long.delay(after: 15, outcome: .providerError, response: nil, random: 0)! == 8, "capped at 8 s")
    }

    @Test("retry-after-ms, retry-after in seconds and as an HTTP date are honoured; too long is not waited for")
    func serverHints() {
        #expect(policy.delay(after: 1, outcome: .rateLimited, response: response(429, [("retry-after-ms", "250")])) == 0.25)
        #expect(policy.delay(after: 1, outcome: .rateLimited, response: response(429, [("Retry-After", "2")])) == 2)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let date = "Fri, 15 Jan 2027 08:00:05 GMT"
        let expected = RetryPolicy.httpDate(date)!.timeIntervalSince(now)
        #expect(policy.delay(after: 1, outcome: .rateLimited, response: response(429, [("retry-after", date)]), now: now) == expected)
        #expect(policy.delay(after: 1, outcome: .rateLimited, response: response(429, [("retry-after", "3600")])) == nil)
        #expect(policy.delay(after: 1, outcome: .providerError, response: response(503, [("x-should-retry", "false")])) == nil)
        #expect(policy.delay(after: 1, outcome: .unexpected, response: response(409, [("x-should-retry", "true")]), random: 0) == 0.5)
    }

    @Test("proxy variables: scheme, credentials, port, NO_PROXY domains")
    func proxies() {
        let settings = ProxySettings(environment: ["HTTPS_PROXY": "http://user:pw@proxy.corp:3128", "http_proxy": "proxy2:8080", "NO_PROXY": "localhost,.internal, example.com"])
        #expect(settings.https == .init(host: "proxy.corp", port: 3128, credentials: "user:pw", variable: "HTTPS_PROXY"))
        #expect(settings.http?.port == 8080)
        #expect(settings.proxy(forHost: "api.anthropic.com", scheme: "https")?.host == "proxy.corp")
        #expect(settings.proxy(forHost: "llm.internal", scheme: "https") == nil)
        #expect(settings.proxy(forHost: "api.example.com", scheme: "https") == nil)
        #expect(settings.proxy(forHost: "localhost", scheme: "http") == nil)
        #expect(!settings.https!.description.contains("pw"), "credentials are never printed")
        #expect(ProxySettings(environment: ["HTTPS_PROXY": "socks5://x:1"]).problems.count == 1)
        #expect(ProxySettings(environment: ["NO_PROXY": "*", "HTTPS_PROXY": "http://p:1"]).proxy(forHost: "a.b", scheme: "https") == nil)
    }

    @Test("probe requests put the key where the provider expects it, from guarded memory, never in a String field or the display URL")
    func requests() throws {
        let key = SecureBytes(copying: Array("secret key+123".utf8))
        let anthropic = try ProbeRequest.make(provider: BuiltinProviders.named("anthropic")!, key: key)
        #expect(anthropic.headers.contains { $0 == ("anthropic-version", "2023-06-01") })
        #expect(anthropic.displayURL == "https://api.anthropic.com/v1/models")
        #expect(anthropic.credential.placement == .header(name: "x-api-key", prefix: ""))
        // No field of the request holds the key as text: it lives only in SecureBytes.
        var dumped = ""
        dump(anthropic, to: &dumped)
        #expect(!dumped.contains("secret"))
        #expect(Self.head(anthropic).contains("\r\nx-api-key: secret key+123\r\n"))

        let openai = try ProbeRequest.make(provider: BuiltinProviders.named("openai")!, key: key)
        #expect(Self.head(openai).contains("\r\nauthorization: Bearer secret key+123\r\n"))

        var custom = ProviderDefinition(name: "q", displayName: "Q", baseURL: "http://127.0.0.1:9/base", auth: .query("key"), env: "Q_KEY", probe: Probe(path: "/v1/me"))
        let query = try ProbeRequest.make(provider: custom, key: key)
        #expect(query.target == "/base/v1/me")
        #expect(Self.head(query).hasPrefix("GET /base/v1/me?key=secret%20key%2B123 HTTP/1.1\r\n"))
        #expect(!query.displayURL.contains("secret"))
        custom.probe = nil
        #expect(throws: KeywardenError.self) { try ProbeRequest.make(provider: custom, key: key) }
    }

    /// The bytes `CredentialRequestEncoder` writes for `request`'s head.
    static func head(_ request: ProbeRequest) -> String {
        var buffer = ByteBufferAllocator().buffer(capacity: 512)
        request.credential.writeHead(method: request.method, uri: request.target, headers: request.headers, into: &buffer)
        return buffer.readString(length: buffer.readableBytes) ?? ""
    }
}

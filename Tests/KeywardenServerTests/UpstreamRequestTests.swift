import HTTPTypes
import KeywardenCore
@testable import KeywardenServer
import NIOHTTP1
import Testing

/// Where a gateway request goes and what it carries, provider by provider.
@Suite struct UpstreamRequestTests {
    func provider(_ name: String, baseURL: String? = nil) throws -> ProviderDefinition {
        var definition = try #require(BuiltinProviders.named(name))
        if let baseURL { definition.baseURL = baseURL }
        return definition
    }

    @Test(arguments: [
        ("openai", "/v1/chat/completions", nil, "https://api.openai.com/v1/chat/completions"),
        ("anthropic", "/v1/messages", "beta=true", "https://api.anthropic.com/v1/messages?beta=true"),
        ("gemini", "/v1beta/models/gemini-2.5-flash:generateContent", nil, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"),
        // Both spellings SDKs use for Groq reach the same URL.
        ("groq", "/openai/v1/chat/completions", nil, "https://api.groq.com/openai/v1/chat/completions"),
        ("groq", "/v1/chat/completions", nil, "https://api.groq.com/openai/v1/chat/completions"),
        ("zhipu", "/api/paas/v4/chat/completions", nil, "https://open.bigmodel.cn/api/paas/v4/chat/completions"),
        ("openrouter", "/api/v1/chat/completions", nil, "https://openrouter.ai/api/v1/chat/completions"),
        // `//host` stays a path on the provider's host.
        ("openai", "//evil.example/x", nil, "https://api.openai.com//evil.example/x"),
    ] as [(String, String, String?, String)])
    func mapsThePathOntoTheProvidersBaseURL(name: String, remainder: String, query: String?, expected: String) throws {
        let target = try UpstreamRequest.url(provider: try provider(name), remainder: remainder, query: query)
        #expect(target.url == expected)
    }

    /// The fast path does not parse each request's URL: it puts the target on the base's address, parsed once.
    @Test func theFastPathsAddressIsTheURLsAddress() throws {
        for baseURL in ["http://127.0.0.1:8080", "http://127.0.0.1:8080/anthropic", "http://localhost/v1/", "http://[::1]:9/x/y", "http://Example.test:81"] {
            for name in ["anthropic", "groq"] {
                var definition = try provider(name, baseURL: baseURL)
                definition.allowInsecureHTTP = true
                let base = try UpstreamRequest.Base(provider: definition)
                let plain = try #require(base.plainAddress)
                for remainder in ["", "/", "/v1/messages", "/openai/v1/chat/completions", "//x"] {
                    for query in [nil, "a=1&b=%20"] as [String?] {
                        let url = try UpstreamRequest.url(base: base, remainder: remainder, query: query).url
                        let parsed = try #require(UpstreamAddress(url: url))
                        let fast = plain.target(of: url, baseText: base.text)
                        #expect(fast.host == parsed.host && fast.port == parsed.port && fast.authority == parsed.authority, "\(url)")
                        #expect(fast.pathAndQuery == parsed.pathAndQuery, "\(url)")
                    }
                }
            }
        }
        #expect(try UpstreamRequest.Base(provider: try provider("anthropic")).plainAddress == nil)
    }

    @Test func keepsABaseURLsOwnPathPrefix() throws {
        let target = try UpstreamRequest.url(provider: try provider("anthropic", baseURL: "https://gw.internal/anthropic"), remainder: "/v1/messages", query: nil)
        #expect(target.url == "https://gw.internal/anthropic/v1/messages")
        #expect(target.host == "gw.internal")
    }

    @Test func refusesPathsAndQueriesThatAreNotURLCharacters() throws {
        let openai = try provider("openai")
        for bad in ["/v1/%zz", "/v1/a b", "/v1/a\\b", "/v1/\r\nx", "v1/no-slash", "/v1/#frag", "/v1/%4"] {
            #expect(throws: GatewayRefusal.self) { try UpstreamRequest.url(provider: openai, remainder: bad, query: nil) }
        }
        #expect(throws: GatewayRefusal.self) { try UpstreamRequest.url(provider: openai, remainder: "/v1", query: "a=b c") }
        #expect(throws: GatewayRefusal.self) { try UpstreamRequest.url(provider: try provider("openai", baseURL: "http://203.0.113.5/v1"), remainder: "/x", query: nil) }
    }

    @Test func theTokenInTheQueryIsNotForwarded() {
        #expect(UpstreamRequest.queryWithoutKey("alt=sse&key=kwt_abc") == "alt=sse")
        #expect(UpstreamRequest.queryWithoutKey("key=kwt_abc") == nil)
        #expect(UpstreamRequest.queryWithoutKey("api-version=2024-10-21") == "api-version=2024-10-21")
    }

    @Test func headersLoseTheCredentialAndHopByHopFieldsAndGainTheKey() throws {
        var client = HTTPFields()
        client[HTTPField.Name("host")!] = "127.0.0.1:8788"
        client[.authorization] = "Bearer kwt_token"
        client[HTTPField.Name("x-api-key")!] = "kwt_token"
        client[HTTPField.Name("x-goog-api-key")!] = "kwt_token"
        client[HTTPField.Name("api-key")!] = "kwt_token"
        client[.connection] = "keep-alive, x-drop-me"
        client[HTTPField.Name("x-drop-me")!] = "1"
        client[HTTPField.Name("x-keywarden-scope")!] = "prod"
        client[.contentLength] = "12"
        client[HTTPField.Name("anthropic-beta")!] = "tools-2024-05-16"
        client[HTTPField.Name("OpenAI-Organization")!] = "org-1"
        let key = Secrets.secret(copying: "sk-ant-api03-THEKEY".utf8)
        let anthropic = UpstreamRequest.headers(from: client, provider: try provider("anthropic"), key: key)
        #expect(anthropic["x-api-key"] == ["sk-ant-api03-THEKEY"])
        #expect(anthropic["authorization"].isEmpty && anthropic["x-goog-api-key"].isEmpty && anthropic["api-key"].isEmpty)
        #expect(anthropic["host"].isEmpty && anthropic["connection"].isEmpty && anthropic["x-drop-me"].isEmpty && anthropic["content-length"].isEmpty)
        #expect(anthropic["x-keywarden-scope"].isEmpty)
        #expect(anthropic["anthropic-beta"] == ["tools-2024-05-16"])
        #expect(anthropic["OpenAI-Organization"] == ["org-1"])
        // The provider's required header is added when the client did not send it.
        #expect(anthropic["anthropic-version"] == ["2023-06-01"])
        let openai = UpstreamRequest.headers(from: client, provider: try provider("openai"), key: key)
        #expect(openai["authorization"] == ["Bearer sk-ant-api03-THEKEY"])
        #expect(openai["x-api-key"].isEmpty)
    }
}

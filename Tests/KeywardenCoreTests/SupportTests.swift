import Testing
@testable import KeywardenCore
import KeywardenCrypto

@Suite("Names, durations, timestamps, hints")
struct SupportTests {
    @Test("durations parse as users write them", arguments: [("30s", 30), ("15m", 900), ("24h", 86400), ("30d", 2_592_000), ("2w", 1_209_600)])
    func durations(text: String, seconds: Int64) {
        #expect(DurationSpec(parsing: text)?.seconds == seconds)
        #expect(DurationSpec(parsing: text)?.description == text || seconds == 86400 || seconds == 1_209_600)
    }

    @Test("malformed durations are refused", arguments: ["", "30", "d", "-1d", "1y", "9999999999999999999d"])
    func badDurations(text: String) {
        #expect(DurationSpec(parsing: text) == nil)
    }

    @Test("timestamps round-trip through their stored form")
    func timestamps() {
        let t = Timestamp(millisecondsSince1970: 1_795_000_123_456)
        #expect(Timestamp(iso8601: t.iso8601) == t)
        #expect(t.iso8601.count == 24)
        #expect(Timestamp(iso8601: "2026-11-21T00:00:00Z") != nil)
        #expect(Timestamp(iso8601: "yesterday") == nil)
    }

    @Test("scope, variable and provider names")
    func names() {
        #expect(Names.isScope("team/app"))
        #expect(Names.isScope("prod-eu.1"))
        #expect(!Names.isScope("Prod"))
        #expect(!Names.isScope("a//b"))
        #expect(!Names.isScope("/a"))
        #expect(Names.isEnvironmentVariable("OPENAI_API_KEY"))
        #expect(Names.isEnvironmentVariable("_x1"))
        #expect(!Names.isEnvironmentVariable("1X"))
        #expect(!Names.isEnvironmentVariable("A-B"))
        #expect(!Names.isEnvironmentVariable("A B"))
        #expect(Names.isProvider("my-gateway"))
        #expect(!Names.isProvider("My_Gateway"))
    }

    @Test("hints show a known prefix and the last characters, less for short values")
    func hints() {
        #expect(KeyHint.make(for: SecureBytes(copying: Array(TestKeys.anthropic.utf8)), prefixes: ["sk-ant-api03-", "sk-ant-"]) == "sk-ant-api03-…_xAA")
        #expect(KeyHint.make(for: SecureBytes(copying: Array("abcdefghijklmnopqrstuvwxyz".utf8)), prefixes: []) == "…wxyz")
        #expect(KeyHint.make(for: SecureBytes(copying: Array("short-key1".utf8)), prefixes: []) == "…y1")
        #expect(KeyHint.make(for: SecureBytes(copying: Array("tiny".utf8)), prefixes: []) == "…")
        // A prefix is shown only when much of the key stays hidden.
        #expect(KeyHint.make(for: SecureBytes(copying: Array("sk-ant-api03-abcdefgh".utf8)), prefixes: ["sk-ant-api03-"]) == "sk-…efgh")
    }

    @Test("every built-in provider has a valid definition")
    func builtins() throws {
        let names = BuiltinProviders.all.map(\.name)
        #expect(Set(names).count == names.count)
        for required in ["anthropic", "openai", "azure-openai", "gemini", "mistral", "groq", "deepseek", "zhipu", "zai", "moonshot",
                         "dashscope", "openrouter", "cohere", "together", "xai", "fireworks", "perplexity", "huggingface"] {
            #expect(names.contains(required), "missing \(required)")
        }
        for p in BuiltinProviders.all {
            #expect(Names.isProvider(p.name))
            #expect(Names.isEnvironmentVariable(p.env))
            #expect((try? Vault.checkedBaseURL(p.baseURL)) == p.baseURL, "\(p.name) base URL")
            #expect(p.probe != nil, "\(p.name) has no probe")
            if let format = p.keyFormat { #expect((try? Regex(format.pattern)) != nil, "\(p.name) pattern") }
        }
    }

    @Test("base URLs: credentials, queries and other schemes are refused")
    func baseURLs() {
        #expect((try? Vault.checkedBaseURL("https://gw.internal/v1/")) == "https://gw.internal/v1")
        #expect((try? Vault.checkedBaseURL("http://127.0.0.1:8080")) == "http://127.0.0.1:8080")
        for bad in ["ftp://x", "not a url", "https://user:pw@host", "https://host/?key=1", "https://"] {
            #expect(throws: KeywardenError.self, "\(bad)") { try Vault.checkedBaseURL(bad) }
        }
    }
}

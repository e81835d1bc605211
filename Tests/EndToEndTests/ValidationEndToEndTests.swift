import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

@Suite("End to end: validate, doctor, audit --failed-auth against the mock providers")
struct ValidationEndToEndTests {
    /// A vault whose providers point at `mock`.
    func vault(_ mock: MockProviderServer, mode: CLIMode = .direct, providers: [String] = ["anthropic", "openai", "gemini", "zhipu", "xai", "deepseek"]) throws -> CLIHarness {
        let cli = CLIHarness(mode)
        try cli.initVault()
        for provider in providers {
            try cli.ok(["provider", "set", provider, "--base-url", mock.baseURL(for: provider)])
        }
        return cli
    }

    func add(_ cli: CLIHarness, _ provider: String, _ scope: String, _ value: String, label: String) throws -> String {
        cli.secrets.append(value)
        try cli.ok(["key", "add", provider, "--scope", scope, "--label", label, "--force"], stdin: value + "\n")
        let keys = try cli.json(try cli.ok(["key", "list", "--provider", provider, "--json"])) as! [[String: Any]]
        return keys.first { $0["label"] as? String == label }!["id"] as! String
    }

    @Test("validate classifies each key, stores the outcome, audits each check, exits 5; --failed-auth answers which key failed", arguments: CLIMode.allCases)
    func validate(mode: CLIMode) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, mode: mode)
        let good = try add(cli, "anthropic", "prod", "sk-ant-api03-valid-" + String(repeating: "a", count: 40), label: "good")
        let poor = try add(cli, "anthropic", "dev", "sk-ant-api03-nocredit-" + String(repeating: "b", count: 40), label: "poor")
        let scoped = try add(cli, "openai", "prod", "sk-proj-missingscope-" + String(repeating: "c", count: 40), label: "scoped")
        let revoked = try add(cli, "gemini", "prod", "AIzaSy-invalid-" + String(repeating: "d", count: 24), label: "revoked")
        let arrears = try add(cli, "zhipu", "prod", "0123456789abcdef0123456789abcdef.arrears-xxxxxxx", label: "arrears")

        let result = try cli.run(["validate", "--json"])
        #expect(result.status == 5)
        let checks = try cli.json(result) as! [[String: Any]]
        let outcomes = Dictionary(uniqueKeysWithValues: checks.map { ($0["id"] as! String, $0["outcome"] as! String) })
        #expect(outcomes == [good: "valid", poor: "no_credit", scoped: "forbidden", revoked: "invalid", arrears: "no_credit"])
        #expect(checks.allSatisfy { $0["latency_ms"] != nil && $0["reason"] != nil })

        let table = try cli.run(["validate", "anthropic", "--scope", "prod"])
        #expect(table.status == 0)
        #expect(table.out.contains("valid"))

        let list = try cli.json(try cli.ok(["key", "list", "--json"])) as! [[String: Any]]
        #expect(list.first { $0["id"] as? String == revoked }?["outcome"] as? String == "invalid")
        #expect(list.first { $0["id"] as? String == revoked }?["checked_at"] != nil)

        let failed = try cli.json(try cli.ok(["audit", "--failed-auth", "--json"])) as! [[String: Any]]
        #expect(Set(failed.map { $0["key_id"] as! String }) == [scoped, revoked])
        #expect(failed.allSatisfy { ($0["detail"] as! String).hasPrefix("validate:") && $0["at"] != nil && $0["actor"] != nil })
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("doctor names the failing stage: DNS, refused connection, TLS, timeout, revoked key", arguments: CLIMode.allCases)
    func doctor(mode: CLIMode) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, mode: mode, providers: ["anthropic"])
        _ = try add(cli, "anthropic", "prod", "sk-ant-api03-valid-" + String(repeating: "a", count: 40), label: "good")
        _ = try add(cli, "anthropic", "dev", "sk-ant-api03-invalid-" + String(repeating: "r", count: 40), label: "revoked")
        _ = try add(cli, "anthropic", "staging", "sk-ant-api03-hang-" + String(repeating: "h", count: 40), label: "hung")

        let ok = try cli.run(["doctor", "anthropic", "--scope", "prod"])
        #expect(ok.status == 0)
        for stage in ["proxy", "DNS", "TCP", "probe"] { #expect(ok.out.contains(stage), "doctor shows the \(stage) stage") }
        #expect(ok.out.contains("Verdict: OK"))

        let revoked = try cli.run(["doctor", "anthropic", "--scope", "dev"])
        #expect(revoked.status == 5)
        #expect(revoked.out.contains("Verdict: FAILED at the probe: the provider rejected the key"))

        let started = Date()
        let hung = try cli.run(["doctor", "anthropic", "--scope", "staging", "--timeout", "2s"])
        #expect(hung.status == 6, "a time-out says nothing about the key")
        #expect(hung.out.contains("no HTTP answer"))
        #expect(Date().timeIntervalSince(started) < 6)

        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic", tls: true)])
        let tls = try cli.run(["doctor", "anthropic", "--scope", "prod"])
        #expect(tls.status == 6)
        #expect(tls.out.contains("Verdict: FAILED at TLS"))
        #expect(tls.out.contains("self-signed"))

        let closed = try await MockProviderServer.closedPort()
        try cli.ok(["provider", "set", "anthropic", "--base-url", "http://127.0.0.1:\(closed)"])
        let refused = try cli.run(["doctor", "anthropic", "--scope", "prod"])
        #expect(refused.out.contains("Verdict: FAILED at TCP connect"))
        #expect(refused.out.contains("refused"))

        // RFC 6761: .invalid never resolves, on any resolver.
        try cli.ok(["provider", "set", "anthropic", "--base-url", "https://api.keywarden-test.invalid"])
        let dns = try cli.run(["doctor", "anthropic", "--scope", "prod"])
        #expect(dns.out.contains("Verdict: FAILED at DNS"))

        try cli.ok(["provider", "set", "anthropic", "--base-url", "https://api.anthropic.com"])
        let proxy = try cli.run(["doctor", "anthropic", "--scope", "prod"], env: ["HTTPS_PROXY": "http://127.0.0.1:\(closed)"])
        #expect(proxy.out.contains("Verdict: FAILED at the proxy"))
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("doctor after a TLS failure shows the certificate, and the server that failed verification receives no request and no key", arguments: CLIMode.allCases)
    func doctorTLSSendsNothing(mode: CLIMode) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, mode: mode, providers: [])
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic", tls: true)])
        let secret = "sk-ant-api03-valid-tlsprobe-" + String(repeating: "t", count: 40)
        _ = try add(cli, "anthropic", "prod", secret, label: "good")

        let doctor = try cli.run(["doctor", "anthropic", "--scope", "prod"])
        #expect(doctor.status == 6)
        #expect(doctor.out.contains("Verdict: FAILED at TLS"))
        #expect(doctor.out.contains("the server presented"))
        #expect(doctor.out.contains("keywarden-mock.invalid"), "the certificate's subject")
        #expect(doctor.out.contains("self-signed"), "its issuer")
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(mock.tlsConnections >= 2, "doctor did connect twice: to verify, then to inspect")
        #expect(mock.tlsApplicationBytes.isEmpty, "not one byte after any handshake: no HTTP request")
        #expect(!String(decoding: mock.tlsApplicationBytes, as: UTF8.self).contains("tlsprobe"))
        #expect(mock.received.isEmpty)
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("a plain http:// base URL is refused unless loopback or --allow-insecure-http, which is stored, shown and audited", arguments: CLIMode.allCases)
    func plainHTTPBaseURL(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        func baseURL(_ name: String) throws -> (String, Bool) {
            let json = try cli.json(try cli.ok(["provider", "show", name, "--json"])) as! [String: Any]
            return (json["base_url"] as! String, json["allow_insecure_http"] as! Bool)
        }

        let refused = try cli.run(["provider", "set", "openai", "--base-url", "http://llm-gw.example.net/v1"])
        #expect(refused.status == 2)
        #expect(refused.err.contains("http://llm-gw.example.net/v1"))
        #expect(refused.err.contains("--allow-insecure-http"))
        #expect(try baseURL("openai") == ("https://api.openai.com", false), "nothing changed")
        #expect(!(try cli.ok(["audit"]).out.contains("llm-gw")))

        // `localhost.` is resolved through DNS, so it is not loopback.
        let dotted = try cli.run(["provider", "set", "openai", "--base-url", "http://localhost.:8080/v1"])
        #expect(dotted.status == 2)
        #expect(dotted.err.contains("http://localhost.:8080/v1"))
        #expect(try baseURL("openai") == ("https://api.openai.com", false), "nothing changed")

        let added = try cli.run(["provider", "add", "gw", "--base-url", "http://10.1.2.3:8080", "--env", "GW_KEY", "--probe-path", "/v1/me"])
        #expect(added.status == 2)
        #expect(added.err.contains("http://10.1.2.3:8080"))
        #expect(try cli.run(["provider", "show", "gw"]).status == 2, "not added")

        try cli.ok(["provider", "set", "openai", "--base-url", "http://llm-gw.example.net/v1", "--allow-insecure-http"])
        #expect(try baseURL("openai") == ("http://llm-gw.example.net/v1", true))
        #expect(try cli.ok(["provider", "show", "openai"]).out.contains("allowed by --allow-insecure-http"))
        let audit = try cli.ok(["audit", "--action", "provider.set"]).out
        #expect(audit.contains("--allow-insecure-http"))
        try cli.ok(["provider", "add", "gw", "--base-url", "http://10.1.2.3:8080", "--env", "GW_KEY", "--probe-path", "/v1/me", "--allow-insecure-http"])
        #expect(try baseURL("gw") == ("http://10.1.2.3:8080", true))

        // The permission belongs to that URL: a new URL without the option drops it.
        try cli.ok(["provider", "set", "openai", "--base-url", "https://api.openai.com/v1"])
        #expect(try baseURL("openai") == ("https://api.openai.com/v1", false))
        #expect(try cli.run(["provider", "set", "openai", "--base-url", "http://llm-gw.example.net/v1"]).status == 2)
        #expect(try cli.run(["provider", "set", "openai", "--allow-insecure-http"]).status == 2, "the option goes with a URL")

        for url in ["http://127.0.0.1:8080/openai", "http://localhost:8080", "http://[::1]:8080"] {
            try cli.ok(["provider", "set", "openai", "--base-url", url])
            #expect(try baseURL("openai") == (url, false))
        }
        #expect(try cli.ok(["provider", "show", "openai"]).out.contains("loopback only"))
    }

    @Test("validate with no network: 'could not check', one line of advice per host, exit 6; a bad key as well: exit 5", arguments: CLIMode.allCases)
    func validateOffline(mode: CLIMode) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, mode: mode, providers: [])
        // RFC 6761: .invalid never resolves, and resolvers answer so without asking the internet.
        try cli.ok(["provider", "set", "anthropic", "--base-url", "https://api.keywarden-offline.invalid"])
        for (index, scope) in ["dev", "staging", "prod"].enumerated() {
            _ = try add(cli, "anthropic", scope, "sk-ant-api03-valid-offline\(index)-" + String(repeating: "o", count: 40), label: "offline\(index)")
        }
        let offline = try cli.run(["validate"])
        #expect(offline.status == 6)
        #expect(offline.err.contains("could not check 3 of 3 key(s): DNS fails for api.keywarden-offline.invalid"))
        #expect(!offline.err.contains("not valid"))
        #expect(offline.out.components(separatedBy: "dns_error at api.keywarden-offline.invalid").count - 1 == 1, "the advice once, not once per key")
        #expect(try cli.run(["validate", "--json"]).status == 6)

        try cli.ok(["provider", "set", "openai", "--base-url", mock.baseURL(for: "openai")])
        let bad = try add(cli, "openai", "prod", "sk-proj-invalid-" + String(repeating: "x", count: 40), label: "bad")
        let mixed = try cli.run(["validate"])
        #expect(mixed.status == 5, "a bad key wins")
        #expect(mixed.err.contains("1 of 4 key(s) are not valid; could not check 3: DNS fails for api.keywarden-offline.invalid"))
        #expect(mixed.out.contains(bad))
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("bad input: unknown provider, a provider without a probe, a bad timeout", arguments: CLIMode.allCases)
    func badInput(mode: CLIMode) async throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        let unknown = try cli.run(["validate", "nosuch"])
        #expect(unknown.status == 2)
        #expect(unknown.err.contains("unknown provider 'nosuch'"))
        try cli.ok(["provider", "add", "bare", "--base-url", "https://bare.example", "--env", "BARE_KEY"])
        cli.secrets.append("bare-token-123456789")
        try cli.ok(["key", "add", "bare", "--scope", "dev"], stdin: "bare-token-123456789\n")
        let noProbe = try cli.run(["validate", "bare"])
        #expect(noProbe.status == 2)
        #expect(noProbe.err.contains("has no probe"))
        #expect(try cli.run(["validate", "--timeout", "forever"]).status == 2)
        #expect(try cli.run(["validate", "--concurrency", "0"]).status == 2)
        try cli.expectNoSecretLeaked()
    }
}

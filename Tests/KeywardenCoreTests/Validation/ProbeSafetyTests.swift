import Foundation
import KeywardenCrypto
import KeywardenMockProvider
import NIOCore
import Testing
@testable import KeywardenCore

/// Where a key may travel: only over a verified TLS connection, or plain HTTP
/// to this machine (or where the user allowed it), and never to the server
/// whose certificate `doctor` is inspecting.
@Suite("Probe safety: certificate inspection sends nothing, plain HTTP only to loopback", .serialized)
struct ProbeSafetyTests {
    static let secret = "sk-ant-api03-valid-tlsleak-" + String(repeating: "z", count: 40)

    func item(baseURL: String, provider name: String = "anthropic", allowInsecureHTTP: Bool = false) -> KeyToCheck {
        var definition = BuiltinProviders.named(name)!
        definition.baseURL = baseURL
        definition.allowInsecureHTTP = allowInsecureHTTP
        let now = Timestamp.now()
        let info = KeyInfo(KeyRecord(
            id: "k_tlsleak", provider: name, scope: "test", label: "tls", env: definition.env, state: .active, version: 1,
            nonce: Data(), ciphertext: Data(), hint: "…", fingerprint: String(repeating: "0", count: 64), createdAt: now, updatedAt: now))
        return KeyToCheck(key: info, provider: definition, value: SecureBytes(copying: Array(Self.secret.utf8)))
    }

    /// Lets the mock's event loop finish reading whatever a client sent.
    func settle() async throws { try await Task.sleep(nanoseconds: 300_000_000) }

    @Test("inspectCertificate completes a handshake, reads the self-signed certificate and writes nothing after it")
    func inspect() async throws {
        let mock = try await MockProviderServer.start()
        let client = ProbeClient(resolver: OfflineResolver(), proxies: ProxySettings(environment: [:]))
        let details = try await client.inspectCertificate(host: "127.0.0.1", port: mock.tlsPort, timeout: .seconds(60)).get()
        #expect(details.subject.contains("keywarden-mock.invalid"))
        #expect(details.subject == details.issuer)
        #expect(!details.verified)
        try await settle()
        #expect(mock.tlsConnections == 1)
        #expect(mock.tlsApplicationBytes.isEmpty, "nothing is sent after the handshake")
        await mock.shutdown()
    }

    @Test("doctor against a self-signed server shows its certificate, and no request or key byte reaches it on any connection")
    func doctorSendsNothingAfterTLSFailure() async throws {
        let mock = try await MockProviderServer.start()
        let client = ProbeClient(resolver: OfflineResolver(), proxies: ProxySettings(environment: [:]))
        let diagnosis = await Diagnosis.run(item(baseURL: mock.baseURL(for: "anthropic", tls: true)), client: client, timeout: .seconds(60), environment: [:])
        #expect(diagnosis.check.outcome == .tlsError)
        let presented = diagnosis.stages.first { $0.detail.hasPrefix("the server presented") }
        #expect(presented?.detail.contains("keywarden-mock.invalid") == true)
        #expect(presented?.detail.contains("self-signed") == true)
        try await settle()
        #expect(mock.tlsConnections == 2, "the verified attempt and the inspection")
        #expect(mock.tlsApplicationBytes.isEmpty, "no HTTP request on any connection")
        #expect(mock.received.isEmpty)
        #expect(mock.requests(withKeyContaining: "tlsleak") == 0)
        await mock.shutdown()
    }

    @Test("a probe over verified TLS to a self-signed server fails before anything is written")
    func verifiedSendStopsAtTLS() async throws {
        let mock = try await MockProviderServer.start()
        let validator = Validator(client: ProbeClient(resolver: OfflineResolver(), proxies: ProxySettings(environment: [:])), timeout: .seconds(10))
        let check = await validator.checkOne(item(baseURL: mock.baseURL(for: "anthropic", tls: true)))
        #expect(check.outcome == .tlsError)
        try await settle()
        #expect(mock.tlsApplicationBytes.isEmpty)
        await mock.shutdown()
    }

    @Test("loopback hosts: 127.0.0.0/8, ::1 and the name localhost exactly, nothing else (localhost. is a DNS lookup)")
    func loopback() {
        for host in ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LocalHost"] {
            #expect(LoopbackHost.contains(host), "\(host)")
        }
        for host in ["128.0.0.1", "10.0.0.1", "0.0.0.0", "::", "example.com", "localhost.example.com", "127.0.0.1.nip.io", "[2001:db8::1]",
                     "localhost.", "LOCALHOST.", "localhost..", "127.0.0.1.", "localhost.localdomain"] {
            #expect(!LoopbackHost.contains(host), "\(host)")
        }
    }

    @Test("base URLs: plain http:// is refused unless loopback or explicitly allowed, and the error names the URL")
    func baseURLs() throws {
        let error = #expect(throws: KeywardenError.self) { try Vault.checkedBaseURL("http://api.example.com/v1", provider: "openai") }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("http://api.example.com/v1") == true)
        #expect(error?.message.contains("--allow-insecure-http") == true)
        #expect(try Vault.checkedBaseURL("http://api.example.com/v1", allowInsecureHTTP: true) == "http://api.example.com/v1")
        for url in ["http://127.0.0.1:8080", "http://localhost:8080/x", "http://[::1]:8080", "https://api.example.com"] {
            #expect(try Vault.checkedBaseURL(url) == url)
        }
    }

    @Test("probe time: no key over plain HTTP to a host that is not loopback, whatever the stored URL says, unless allowed")
    func plainHTTPAtProbeTime() async throws {
        let key = SecureBytes(copying: Array(Self.secret.utf8))
        var provider = BuiltinProviders.named("openai")!
        provider.baseURL = "http://api.keywarden-test.invalid/v1"
        #expect(throws: KeywardenError.self) { try ProbeRequest.make(provider: provider, key: key) }
        let check = await Validator(client: ProbeClient(resolver: OfflineResolver(), proxies: ProxySettings(environment: [:])), timeout: .seconds(5))
            .checkOne(item(baseURL: provider.baseURL, provider: "openai"))
        #expect(check.outcome == .unexpected)
        #expect(check.reason.contains("plain HTTP"))
        provider.allowInsecureHTTP = true
        #expect(try ProbeRequest.make(provider: provider, key: key).allowsInsecureHTTP)

        // Through a plain-HTTP proxy, the key would be readable by the proxy: refused too.
        provider.baseURL = "http://127.0.0.1:9/v1"
        provider.allowInsecureHTTP = false
        let request = try ProbeRequest.make(provider: provider, key: key)
        var proxies = ProxySettings(environment: ["HTTP_PROXY": "http://proxy.keywarden-test.invalid:3128"])
        proxies.noProxy = []
        #expect(proxies.proxy(forHost: "127.0.0.1", scheme: "http") != nil)
        let answer = await ProbeClient(resolver: OfflineResolver(), proxies: proxies).send(request, timeout: .seconds(5))
        guard case .failure(let failure) = answer else { Issue.record("sent through a plain-HTTP proxy"); return }
        #expect(failure.detail.contains("plain HTTP"))
    }
}

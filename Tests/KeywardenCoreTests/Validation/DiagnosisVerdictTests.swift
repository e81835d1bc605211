import Foundation
import NIOCore
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenMockProvider
import KeywardenTestSupport

/// `localhost` without asking the system's resolver (whose thread pool a busy
/// test run can hold up for longer than a check's time limit).
struct LoopbackResolver: HostResolver {
    func resolve(host: String, port: Int) async throws -> [SocketAddress] {
        if host == "localhost" { return [try SocketAddress(ipAddress: "127.0.0.1", port: port)] }
        return try await OfflineResolver().resolve(host: host, port: port)
    }
}

@Suite("Diagnosis, sharper: TLS verdicts that name the cause, relay gateways' answers", .serialized)
struct DiagnosisVerdictTests {
    func client(caPEM: String? = nil, folder: TemporaryDirectory = TemporaryDirectory()) throws -> ProbeClient {
        var caFile: String?
        if let caPEM {
            caFile = folder.file("ca.pem")
            try caPEM.write(toFile: caFile!, atomically: false, encoding: .utf8)
        }
        return ProbeClient(resolver: LoopbackResolver(), proxies: ProxySettings(environment: [:]), caFile: caFile)
    }

    func diagnose(_ server: MockTLSServer, trustCA: Bool) async throws -> Diagnosis {
        let folder = TemporaryDirectory()
        let openai = try #require(BuiltinProviders.named("openai"))
        let item = ValidatorTests.key(openai, "valid-tlsverdict", baseURL: "https://localhost:\(server.port)/openai")
        return await Diagnosis.run(item, client: try client(caPEM: trustCA ? server.caPEM : nil, folder: folder), timeout: .seconds(30), environment: [:])
    }

    @Test("an expired certificate: the verdict says expired, with its date")
    func expired() async throws {
        let server = try await MockTLSServer.start(presenting: .expired)
        let diagnosis = try await diagnose(server, trustCA: true)
        #expect(diagnosis.check.outcome == .tlsError)
        #expect(diagnosis.verdict.contains("expired on 2024-01-31"), "\(diagnosis.verdict)")
        #expect(!diagnosis.verdict.contains("not valid for"))
        #expect(diagnosis.check.reason.contains("expired on 2024-01-31"), "stored on the key and in the audit trail")
        #expect(diagnosis.advice?.contains("renew") == true)
        await server.shutdown()
    }

    @Test("a certificate for other names: the verdict names the host and the names it is valid for")
    func wrongHost() async throws {
        let server = try await MockTLSServer.start(presenting: .wrongHost)
        let diagnosis = try await diagnose(server, trustCA: true)
        #expect(diagnosis.check.outcome == .tlsError)
        #expect(diagnosis.verdict.contains("not valid for localhost"), "\(diagnosis.verdict)")
        #expect(diagnosis.verdict.contains("api.elsewhere.test, *.elsewhere.test"))
        #expect(!diagnosis.verdict.contains("expired"))
        await server.shutdown()
    }

    @Test("a self-signed certificate: the verdict says self-signed and how to trust it")
    func selfSigned() async throws {
        let server = try await MockTLSServer.start(presenting: .selfSigned)
        let diagnosis = try await diagnose(server, trustCA: false)
        #expect(diagnosis.check.outcome == .tlsError)
        #expect(diagnosis.verdict.contains("self-signed"), "\(diagnosis.verdict)")
        #expect(diagnosis.advice?.contains("--ca-file") == true)
        #expect(!diagnosis.verdict.contains("expired") && !diagnosis.verdict.contains("not valid for"))
        await server.shutdown()
    }

    @Test("an issuer nothing here trusts (a TLS-inspecting proxy's CA): the verdict names it and says --ca-file / SSL_CERT_FILE")
    func untrustedIssuer() async throws {
        let server = try await MockTLSServer.start(presenting: .untrustedIssuer)
        let diagnosis = try await diagnose(server, trustCA: true)
        #expect(diagnosis.check.outcome == .tlsError)
        #expect(diagnosis.verdict.contains("Corp TLS Inspection CA"), "\(diagnosis.verdict)")
        #expect(diagnosis.verdict.contains("TLS-inspecting proxy"))
        #expect(diagnosis.advice?.contains("--ca-file") == true && diagnosis.advice?.contains("SSL_CERT_FILE") == true)
        await server.shutdown()
    }

    @Test("the same test CA with a good certificate passes: the faults above are the certificates', not the setup's")
    func goodCertificate() async throws {
        let server = try await MockTLSServer.start(presenting: .good)
        let diagnosis = try await diagnose(server, trustCA: true)
        #expect(diagnosis.check.outcome == .valid, "\(diagnosis.verdict)")
        await server.shutdown()
    }

    @Test("certificate names match as RFC 6125 says: one wildcard label, case-insensitive")
    func nameMatching() {
        #expect(CertificateVerdict.matches("*.elsewhere.test", host: "api.elsewhere.test"))
        #expect(CertificateVerdict.matches("API.example.com", host: "api.example.com"))
        #expect(!CertificateVerdict.matches("*.elsewhere.test", host: "elsewhere.test"))
        #expect(!CertificateVerdict.matches("*.elsewhere.test", host: "a.b.elsewhere.test"))
        #expect(CertificateVerdict.matches("127.0.0.1", host: "127.0.0.1"))
        #expect(CertificateVerdict.ipText([127, 0, 0, 1]) == "127.0.0.1")
        #expect(CertificateVerdict.ipText([UInt8](repeating: 0, count: 15) + [1]) == "::1")
    }

    // MARK: Relay gateways

    static func relay(_ mock: MockProviderServer, rules: [OutcomeRule]? = nil) -> ProviderDefinition {
        ProviderDefinition(name: "my-relay", displayName: "my-relay", baseURL: "http://127.0.0.1:\(mock.port)/relay", auth: .bearer, env: "RELAY_API_KEY",
                           probe: Probe(method: "GET", path: "/v1/models"), rules: rules)
    }

    @Test("a one-api/new-api relay through a user-defined provider: bad token invalid, no channel provider_error, no quota no_credit")
    func relayOutcomes() async throws {
        let mock = try await MockProviderServer.start()
        let validator = Validator(client: try client(), timeout: .seconds(20), sleep: { _ in })
        let relay = Self.relay(mock)
        let expected: [(String, ValidationOutcome)] = [("valid", .valid), ("invalid", .invalid), ("nochannel", .providerError), ("noquota", .noCredit)]
        for (words, outcome) in expected {
            let check = await validator.checkOne(ValidatorTests.key(relay, words, baseURL: relay.baseURL))
            #expect(check.outcome == outcome, "\(words): \(check.reason)")
            if outcome == .providerError { #expect(check.reason.contains("not the key's fault")) }
            if outcome == .noCredit { #expect(check.reason.contains("insufficient_user_quota")) }
        }
        // As traffic: the gateway reads the same rules.
        let body = Array(#"{"error":{"message":"user quota is not enough (request id: 1)","type":"new_api_error","param":"","code":"insufficient_user_quota"}}"#.utf8)
        #expect(GatewayClassifier.classify(status: 403, headers: [], body: body, provider: relay).outcome == .noCredit)
        await mock.shutdown()
    }

    @Test("user-defined providers read code, type and message for credit wording before the status; a worded rate limit stays one; their own rules come first")
    func customWording() throws {
        let custom = ProviderDefinition(name: "acme", displayName: "acme", baseURL: "https://api.acme.test", auth: .bearer, env: "ACME_KEY")
        func outcome(_ status: Int, _ body: String, _ provider: ProviderDefinition = custom) -> ValidationOutcome {
            Validator.classify(ProbeResponse(status: status, headers: [], body: body), provider: provider).outcome
        }
        #expect(outcome(429, #"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#) == .noCredit)
        #expect(outcome(400, #"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#) == .noCredit)
        #expect(outcome(403, #"{"error":{"message":"用户余额不足","type":"new_api_error"}}"#) == .noCredit)
        #expect(outcome(429, #"{"error":{"code":429,"message":"Quota exceeded for quota metric 'Generate Content API requests per minute'","status":"RESOURCE_EXHAUSTED"}}"#) == .rateLimited)
        #expect(outcome(503, #"{"error":{"message":"当前分组 vip 下对于模型 qwen 无可用渠道","type":"one_api_error"}}"#) == .providerError)
        #expect(outcome(403, #"{"error":{"message":"model not allowed for this token","type":"new_api_error"}}"#) == .forbidden, "no credit wording: the status decides")
        #expect(outcome(401, #"{"error":{"message":"无效的令牌","type":"one_api_error"}}"#) == .invalid)
        // Only the error's fields count: a "param" or model name that mentions credit does not.
        #expect(outcome(403, #"{"error":{"message":"forbidden","type":"permission_error","param":"credit_card"}}"#) == .forbidden)
        // The user's own rule wins over the built-in ones.
        var own = custom
        own.rules = [OutcomeRule(status: [403], json: [JSONMatch("error.code", equals: "insufficient_user_quota")], outcome: .forbidden, reason: "mine")]
        #expect(outcome(403, #"{"error":{"code":"insufficient_user_quota"}}"#, own) == .forbidden)
        // Built-in providers keep exactly their own rules.
        let openai = BuiltinProviders.named("openai")!
        #expect(Validator.classify(ProbeResponse(status: 403, headers: [], body: #"{"error":{"message":"billing hard limit"}}"#), provider: openai).outcome == .forbidden)
    }

    @Test("provider add --rules: a JSON array of rules, refused with the file and rule named when wrong")
    func rulesFile() throws {
        let good = try ProviderRulesFile.parse(Array(#"[{"status":[403],"json":[{"path":"error.message","contains":"额度"}],"outcome":"no_credit","reason":"relay quota","fix":"top up"}]"#.utf8), file: "r.json")
        #expect(good.first?.json.first?.contains == "额度")
        let cases: [(String, String)] = [
            ("not json", "not JSON"),
            (#"[]"#, "1 to 200"),
            (#"[{"status":[403],"outcome":"no_credit"}]"#, "rule 1 lacks \"reason\""),
            (#"[{"status":[403],"outcome":"broke","reason":"x"}]"#, "rule 1"),
            (#"[{"outcome":"valid","reason":"x"}]"#, "no condition"),
            (#"[{"status":[403],"outcome":"valid","reason":"x"},{"status":[42],"outcome":"valid","reason":"y"}]"#, "rule 2 has status 42"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: KeywardenError.self) { try ProviderRulesFile.parse(Array(text.utf8), file: "r.json") }
            #expect(error?.message.contains("--rules r.json") == true, "\(text)")
            #expect(error?.message.contains(message) == true, "\(text): \(error?.message ?? "")")
        }
        // Rules stored before `contains` existed encode byte for byte as before.
        let old = OutcomeRule(status: [401], json: [JSONMatch("error.code", equals: "x")], outcome: .invalid, reason: "r")
        #expect(!String(decoding: try JSONEncoder().encode(old.json[0]), as: UTF8.self).contains("contains"))
    }
}

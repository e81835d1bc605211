import Foundation
import Testing
@testable import KeywardenCore

@Suite("Gateway classifier: every documented provider answer, as traffic")
struct GatewayClassifierTests {
    /// "provider/scenario" for every documented non-2xx answer of every built-in provider.
    static let answers = BuiltinProviders.list.flatMap { p in
        p.answers.filter { !(200...299).contains($0.response.status) }.map { "\(p.name)/\($0.scenario)" }
    }

    /// What the gateway must make of a documented answer.
    static func expected(_ answer: DocumentedAnswer) -> GatewayOutcome {
        let outcome = GatewayOutcome(answer.expected)
        return outcome == .unexpected && (400...499).contains(answer.response.status) ? .clientError : outcome
    }

    @Test("each documented non-2xx answer classifies to its expected outcome (client_error for an unexpected 4xx)", arguments: answers)
    func documented(name: String) throws {
        let parts = name.split(separator: "/").map(String.init)
        let provider = try #require(BuiltinProviders.provider(named: parts[0]))
        let answer = try #require(provider.answer(for: parts[1]))
        let response = answer.response
        let result = GatewayClassifier.classify(status: response.status, headers: response.headers, body: response.body, provider: provider.definition)
        #expect(result.outcome == Self.expected(answer), "\(name): \(result.reason)")
        #expect(!result.reason.isEmpty)
    }

    @Test("the documented answers cover every built-in provider and the outcomes that matter")
    func coverage() {
        #expect(Set(Self.answers.map { $0.split(separator: "/")[0] }).count == BuiltinProviders.list.count)
        let outcomes = Set(BuiltinProviders.list.flatMap(\.answers).filter { !(200...299).contains($0.response.status) }.map(Self.expected))
        #expect(outcomes.isSuperset(of: [.invalid, .forbidden, .noCredit, .rateLimited, .providerError, .clientError]))
    }

    @Test("a 2xx is ok without reading the body: SSE, empty, even a documented trap body")
    func twoHundred() throws {
        let anthropic = try #require(BuiltinProviders.named("anthropic"))
        let sse = Array("event: message_start\ndata: {\"type\":\"message_start\"}\n\n".utf8)
        #expect(GatewayClassifier.classify(status: 200, headers: [("content-type", "text/event-stream")], body: sse, provider: anthropic).outcome == .ok)
        #expect(GatewayClassifier.classify(status: 204, headers: [], body: [], provider: anthropic).outcome == .ok)
        #expect(GatewayClassifier.classify(status: 200, headers: [], body: Array("<html>Sign in</html>".utf8), provider: anthropic).outcome == .ok)
    }

    @Test("a 4xx no key rule explains is the request's fault; a credit rule still wins over it")
    func clientErrors() throws {
        let anthropic = try #require(BuiltinProviders.named("anthropic"))
        let openai = try #require(BuiltinProviders.named("openai"))
        func classify(_ status: Int, _ body: String, _ provider: ProviderDefinition) -> GatewayOutcome {
            GatewayClassifier.classify(status: status, headers: [("content-type", "application/json")], body: Array(body.utf8), provider: provider).outcome
        }
        #expect(classify(400, #"{"type":"error","error":{"type":"invalid_request_error","message":"messages: field required"}}"#, anthropic) == .clientError)
        #expect(classify(400, #"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#, anthropic) == .noCredit)
        #expect(classify(404, #"{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}"#, anthropic) == .clientError)
        #expect(classify(413, "<html>Request Entity Too Large</html>", anthropic) == .clientError)
        #expect(classify(422, #"{"error":{"message":"bad","type":"invalid_request_error"}}"#, openai) == .clientError)
        #expect(classify(401, #"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#, openai) == .invalid)
        #expect(classify(429, #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#, openai) == .rateLimited)
        #expect(classify(529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, anthropic) == .providerError)
        #expect(classify(500, "", openai) == .providerError)
    }

    @Test("a redirect is not followed, not the client's fault, and its reason names only the host")
    func redirect() throws {
        let openai = try #require(BuiltinProviders.named("openai"))
        let result = GatewayClassifier.classify(status: 302, headers: [("Location", "https://portal.example/login?key=AIzaSySecret")], body: [], provider: openai)
        #expect(result.outcome == .unexpected)
        #expect(result.reason == "HTTP 302 redirect to portal.example; not followed, the key was not sent there")
        #expect(GatewayClassifier.classify(status: 307, headers: [], body: [], provider: openai).outcome == .unexpected)
    }
}

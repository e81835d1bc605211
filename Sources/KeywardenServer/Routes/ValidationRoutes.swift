import Foundation
import Hummingbird
import KeywardenCore

/// `POST /v1/validate` (owner only): `validation.validate` for `curl` users,
/// with the same checks and records as `keywarden validate`. The checks go
/// out with the agent's own network settings, as no curl request carries
/// the client's (the CLI's requests do, through `/v1/ops`).
struct ValidationRoutes: Sendable {
    let agent: AgentDependencies

    var endpoints: RouteCollection<AgentRequestContext> {
        RouteCollection(context: AgentRequestContext.self)
            .add(middleware: OwnerOnlyMiddleware(access: agent.access, what: "validating keys"))
            .post("/v1/validate", use: validate)
    }

    /// Every field may be left out: active, standby and pending keys, 8 at
    /// a time, 15 s each. Limits out of range are clamped, as this route
    /// always did (`timeout_seconds` to 1…3600, `concurrency` and
    /// `per_provider` to 1…1024); the CLI's own requests are refused instead.
    struct ValidateBody: Decodable {
        var provider: String?
        var scope: String?
        var keyID: String?
        var all: Bool?
        var concurrency: Int?
        var perProvider: Int?
        var timeoutSeconds: Int64?
        enum CodingKeys: String, CodingKey {
            case provider, scope, keyID = "key_id", all, concurrency, perProvider = "per_provider", timeoutSeconds = "timeout_seconds"
        }
    }

    /// Answers `{"checks": […], "failovers": […]}`.
    @Sendable func validate(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: ValidateBody.self, context: context,
                                                expected: #"JSON {"provider", "scope", "key_id", "all", "concurrency", "per_provider", "timeout_seconds"}"#)
        let operation = Validation.Validate(provider: body.provider, scope: body.scope, keyID: body.keyID, all: body.all ?? false,
                                            concurrency: Self.clamp(body.concurrency ?? 8, to: 1...1024),
                                            perProvider: body.perProvider.map { Self.clamp($0, to: 1...1024) },
                                            timeout: DurationSpec(seconds: Self.clamp(body.timeoutSeconds ?? 15, to: 1...3600)),
                                            network: NetworkSettings(environment: ProcessInfo.processInfo.environment))
        let run = try await agent.perform(operation, for: try context.caller, request)
        agent.metrics.observe(run)
        return try .json(run)
    }

    static func clamp<Value: Comparable>(_ value: Value, to range: ClosedRange<Value>) -> Value {
        min(max(value, range.lowerBound), range.upperBound)
    }
}

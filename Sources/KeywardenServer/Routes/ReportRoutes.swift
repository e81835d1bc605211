import Hummingbird
import KeywardenCore

/// `POST /v1/reports`: a client says a key failed (`{"key_id"|"fingerprint"|
/// "value": …, "status": 401, "detail": "…"}`). The owner's reports and a
/// token's reports within its grant are recorded, and may fail the key over
/// to a standby (the pool's policy, as `reports.report` decides); a token's
/// report about a key outside its grant changes nothing and is answered
/// "not found". The grant is why this calls the vault and not
/// `reports.report`: an operation's request cannot carry it.
struct ReportRoutes: Sendable {
    let agent: AgentDependencies

    var endpoints: RouteCollection<AgentRequestContext> {
        RouteCollection(context: AgentRequestContext.self)
            .post("/v1/reports", use: report)
    }

    struct ReportBody: Decodable {
        var keyID: String?
        var fingerprint: String?
        var value: String?
        var status: Int
        var detail: String?
        enum CodingKeys: String, CodingKey { case keyID = "key_id", fingerprint, value, status, detail }
    }

    @Sendable func report(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        let body = try await request.decodeJSON(as: ReportBody.self, context: context,
                                                expected: #"JSON {"key_id"|"fingerprint"|"value": …, "status": 401, "detail": "…"}"#)
        let report = KeyReport(keyID: body.keyID, fingerprint: body.fingerprint, value: body.value.map { Secrets.secret(copying: $0.utf8) },
                               status: body.status, detail: body.detail)
        // A token touches only keys in its grant, checked for every matching
        // key before anything changes; others answer "not found".
        let results = try await agent.vault(for: caller, request) { vault in
            try vault.report(report, by: caller.actor, visible: caller.allows(provider:scope:))
        }
        agent.metrics.observe(results)
        return try .json(results)
    }
}

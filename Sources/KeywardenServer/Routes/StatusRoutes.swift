import Hummingbird
import KeywardenCore

/// `GET /v1/health` (anonymous: up, locked, version) and `GET /metrics`
/// (Prometheus text, for any identified caller; no key, value or fingerprint
/// in any label).
struct StatusRoutes: Sendable {
    let agent: AgentDependencies

    var endpoints: RouteCollection<AgentRequestContext> {
        let routes = RouteCollection(context: AgentRequestContext.self)
        routes.get(RouterPath(CallerMiddleware.anonymousPath), use: health)
        routes.get("/metrics", use: metrics)
        return routes
    }

    /// `locked` is a JSON boolean so clients decode it instead of searching the text.
    struct HealthAnswer: Encodable {
        var status: String
        var locked: Bool
        var version: String
        var startedAt: String
        /// `http://127.0.0.1:PORT` while the gateway listens; absent without it.
        var gateway: String?
        enum CodingKeys: String, CodingKey { case status, locked, version, startedAt = "started_at", gateway }
    }

    @Sendable func health(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        try .json(HealthAnswer(status: "ok", locked: agent.state.isLocked, version: KeywardenVersion.current, startedAt: agent.state.startedAt.iso8601,
                          gateway: agent.gatewayAddress.url))
    }

    @Sendable func metrics(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        _ = try context.caller
        var text = agent.metrics.render(locked: agent.state.isLocked) + (agent.gateway?.metrics.render() ?? "")
        if let vault = agent.state.current,
           let entries = try? await agent.vaultPool.runIfActive({ try vault.headroomEntries(states: HeadroomMetrics.states) }) {
            text += HeadroomMetrics.render(entries)
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

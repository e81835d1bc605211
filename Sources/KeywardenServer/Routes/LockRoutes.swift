import Hummingbird
import KeywardenCore

/// `POST /v1/lock` (owner only): records `agent.lock`, stops serving values
/// at once, and once answered the agent replaces its process with a locked
/// one (`runAgent`, `LockedRestart`). A locked agent answers it too.
struct LockRoutes: Sendable {
    let agent: AgentDependencies

    var endpoints: RouteCollection<AgentRequestContext> {
        RouteCollection(context: AgentRequestContext.self)
            .add(middleware: OwnerOnlyMiddleware(access: agent.access, what: "locking the agent"))
            .post("/v1/lock", use: lock)
    }

    @Sendable func lock(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        await agent.lock(by: try context.caller)
        return try .json(["status": "locked"])
    }
}

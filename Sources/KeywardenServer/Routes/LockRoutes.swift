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

    /// `agent.lock`; answers `{"status": "locked"}`.
    @Sendable func lock(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        do {
            _ = try await agent.perform(AgentControl.Lock(), for: caller, request)
        } catch let error as KeywardenError where error.kind == .locked {
            // Locked already (a locked agent holds no vault): the answer is the same.
        }
        return try .json(["status": "locked"])
    }
}

import Hummingbird
import KeywardenCore

/// The Keywarden API over the agent's socket: `POST /v1/ops/{name}` for every
/// operation in ``ServiceOperations/all``, each a thin adapter that decodes
/// the operation, runs it on the agent's vault for the caller, and encodes
/// the answer. Owner only: tokens read values through the documented
/// `/v1/keys`, `/v1/env` and `/v1/names` routes.
struct ServiceRoutes: Sendable {
    let agent: AgentDependencies

    var endpoints: RouteCollection<AgentRequestContext> {
        let routes = RouteCollection(context: AgentRequestContext.self)
            .add(middleware: OwnerOnlyMiddleware(access: agent.access, what: "the Keywarden API"))
        for operation in ServiceOperations.all { register(operation, on: routes) }
        return routes
    }

    private func register<Operation: ServiceOperation>(_: Operation.Type, on routes: RouteCollection<AgentRequestContext>) {
        routes.post(RouterPath("/v1/ops/\(Operation.name)")) { request, context -> Response in
            let operation = try await request.decodeJSON(as: Operation.self, context: context,
                                                         expected: "the request of \(Operation.name) (its fields as JSON)")
            let answer = try await agent.perform(operation, for: try context.caller, request)
            agent.metrics.observe(answer)
            // A scope's values: written from guarded memory, not through JSONEncoder.
            if let variables = answer as? [EnvironmentVariable] {
                defer { agent.freedMemory.answered(values: variables.count) }
                return EnvironmentAnswer.response(variables)
            }
            return try .json(answer)
        }
    }
}

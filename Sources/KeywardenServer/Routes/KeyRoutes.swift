import Hummingbird
import KeywardenCore

/// Keys: `GET /v1/keys?scope=S` (metadata, never values), the hot path
/// `GET /v1/keys/{provider}?scope=S` (the active key with its value), both
/// for the owner and for tokens within their grant, and the owner's
/// `GET /v1/values/{id}`.
struct KeyRoutes: Sendable {
    let agent: AgentDependencies

    var endpoints: RouteCollection<AgentRequestContext> {
        let routes = RouteCollection(context: AgentRequestContext.self)
        routes.get("/v1/keys", use: list)
        routes.get("/v1/keys/:provider", use: active)
        routes.group("/v1/values")
            .add(middleware: OwnerOnlyMiddleware(access: agent.access, what: "reading a key by id"))
            .get(":id", use: reveal)
        return routes
    }

    /// `keys.list`; a token sees only its providers' keys in its scope.
    @Sendable func list(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        let scope = request.uri.queryParameters["scope"].map(String.init)
        try agent.access.require(caller, scope: scope)
        let keys = try await agent.perform(Keys.List(KeyFilter(scope: scope)), for: caller, request)
        return try .json(keys.filter { caller.allows(provider: $0.provider) })
    }

    /// The active key of a provider for a scope (or the parent it inherits
    /// from). A lookup in the agent's cache when it can be; the value leaves
    /// only once its `agent.serve` event is durable.
    @Sendable func active(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        let provider = try context.parameters.require("provider")
        let scope = try request.requiredScope()
        try agent.access.require(caller, scope: scope, provider: provider)
        let cache = agent.state.cache
        let (key, body): (ServedKeyFacts, ByteBuffer)
        if let cached = cache.answer(provider: provider, scope: scope) {
            _ = try agent.unlocked()
            (key, body) = cached
        } else {
            let stamp = cache.currentStamp()
            let (info, value) = try await agent.vault(for: caller, request) { vault in try vault.resolveActiveKey(provider: provider, scope: scope) }
            (key, body) = (ServedKeyFacts(info), ServedKey.json(info, value))
            cache.store(provider: provider, scope: scope, facts: key, answer: body, stampBefore: stamp)
        }
        try await agent.audit.record(ServedKey.event(key, scope: scope, purpose: request.purpose, actor: caller.actor))
        agent.metrics.valueServed()
        return ServedKey.response(body)
    }

    /// `keys.reveal` (owner only): the event naming the caller and its
    /// purpose is committed before the value leaves.
    @Sendable func reveal(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        let id = try context.parameters.require("id")
        let revealed = try await agent.perform(Keys.Reveal(id: id, purpose: request.purpose), for: caller, request)
        agent.metrics.valueServed()
        return ServedKey.response(revealed.key, revealed.value)
    }
}

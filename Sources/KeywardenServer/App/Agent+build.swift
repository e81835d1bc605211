import Hummingbird
import KeywardenCore
import Logging
import ServiceLifecycle

/// The agent as a Hummingbird application, in the manner of the Hummingbird
/// examples' `App+build.swift`: `buildRouter` is every route behind its
/// middleware, and `buildApplication` serves it on the Unix socket. Tests
/// build the same application around a temporary vault.
func buildApplication(_ agent: AgentDependencies, socket: AgentSocket, limits: ConnectionLimits,
                      scheduler: SchedulerSettings? = nil,
                      onRunning: @escaping @Sendable () -> Void = {}) -> some ApplicationProtocol {
    var services: [any Service] = []
    if let scheduler, scheduler.isActive {
        services.append(RotationScheduler(state: agent.state, metrics: agent.metrics, logger: agent.logger, settings: scheduler, vaultPool: agent.vaultPool))
    }
    let limiter = ConnectionLimiter(limits: limits, owner: agent.access.owner)
    return Application(
        router: buildRouter(agent),
        // Bounded headers and an idle timeout; the guard limits connections
        // per uid and closes those that send no complete request in time.
        // Hot key reads are answered on the event loop (HotKeyReads).
        server: .agentHTTP1(configuration: .init(additionalChannelHandlers: [ConnectionGuardHandler(limiter: limiter, logger: agent.logger)],
                                                 idleTimeout: .seconds(30),
                                                 httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 32 * 1024, maxHeaderFieldCount: 100)),
                            agent: agent),
        configuration: .init(address: .unixDomainSocket(path: socket.path), serverName: AnswerHeads.serverName, backlog: 1024),
        services: services,
        onServerRunning: { _ in
            socket.finishBinding()
            onRunning()
        },
        logger: agent.logger)
}

/// Every route of the agent, each area a route collection. The middleware
/// comes first because it wraps only the routes added after it: metrics
/// time every request, and the caller is identified (peer credentials, a
/// token for other users) before any route runs.
func buildRouter(_ agent: AgentDependencies) -> Router<AgentRequestContext> {
    let router = Router(context: AgentRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: agent.metrics))
    router.add(middleware: CallerMiddleware(access: agent.access))
    if let gateway = agent.gateway { router.add(middleware: GatewayRoutes(gateway: gateway)) }
    router.addRoutes(StatusRoutes(agent: agent).endpoints)
    router.addRoutes(KeyRoutes(agent: agent).endpoints)
    router.addRoutes(DeliveryRoutes(agent: agent).endpoints)
    router.addRoutes(ReportRoutes(agent: agent).endpoints)
    router.addRoutes(ValidationRoutes(agent: agent).endpoints)
    router.addRoutes(LockRoutes(agent: agent).endpoints)
    router.addRoutes(ServiceRoutes(agent: agent).endpoints)
    return router
}

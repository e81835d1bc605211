#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPeerCredentials
import Hummingbird
import KeywardenCore
import Logging
import ServiceLifecycle

/// The version the agent reports.
public enum KeywardenVersion {
    public static let current = "0.1.0"
}

/// Builds the agent: router, middleware, HTTP/1.1 on the Unix socket, the
/// audit batcher as a service.
public func buildAgent(state: AgentState, socket: AgentSocket, logger: Logger, scheduler: (interval: Duration, validator: Validator)? = nil,
                       failover: @escaping @Sendable (Vault, String, String) -> Bool = { _, _, _ in false }) -> (some ApplicationProtocol, AuditBuffer) {
    let audit = AuditBuffer(state: state, logger: logger)
    let metrics = AgentMetrics()
    var services: [any Service] = [audit]
    if let scheduler {
        services.append(RotationScheduler(state: state, metrics: metrics, logger: logger, interval: scheduler.interval, validator: scheduler.validator))
    }
    let router = Router(context: AgentRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    AgentRoutes(state: state, audit: audit, metrics: metrics, access: AccessControl(state: state, audit: audit, metrics: metrics), failover: failover)
        .add(to: router)
    let app = Application(
        router: router,
        // Bounded headers and an idle timeout: a client that connects and
        // sends nothing, or sends too much, is dropped.
        server: .http1(configuration: .init(idleTimeout: .seconds(30),
                                            httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 32 * 1024, maxHeaderFieldCount: 100))),
        configuration: .init(address: .unixDomainSocket(path: socket.path), serverName: "keywarden-agent", backlog: 1024),
        services: services,
        onServerRunning: { _ in socket.finishBinding() },
        logger: logger)
    return (app, audit)
}

/// Runs the agent until SIGTERM or SIGINT, then shuts down gracefully: the
/// server stops accepting, the audit batch is written, the socket removed.
public func runAgent(vault: Vault, socket: AgentSocket, logger: Logger, scheduler: (interval: Duration, validator: Validator)? = nil,
                     failover: @escaping @Sendable (Vault, String, String) -> Bool = { _, _, _ in false }) async throws {
    // No core dumps, no ptrace by other processes of the same user.
    var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
    setrlimit(Int32(RLIMIT_CORE.rawValue), &noCore)
    _ = kw_disable_dumping()
    try socket.prepare()
    let state = AgentState(vault: vault)
    let (app, _) = buildAgent(state: state, socket: socket, logger: logger, scheduler: scheduler, failover: failover)
    defer { unlink(socket.path) }
    try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
}

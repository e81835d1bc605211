#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPeerCredentials
import Foundation
import Hummingbird
import KeywardenCore
import Logging
import NIOPosix
import ServiceLifecycle

/// The version the agent reports.
public enum KeywardenVersion {
    public static let current = "0.1.0"
}

/// Where the gateway listens (loopback TCP) and how it forwards.
public struct GatewayListen: Sendable {
    public var host: String
    public var port: Int
    public var settings: GatewaySettings

    public init(host: String, port: Int, settings: GatewaySettings) {
        self.host = host
        self.port = port
        self.settings = settings
    }
}

/// Why `runAgent` returned.
public enum AgentExit: Sendable, Equatable {
    /// SIGTERM or SIGINT: a clean stop.
    case stopped
    /// `POST /v1/lock`: the caller must not keep this process's memory; see
    /// `LockedRestart.replaceProcess`.
    case locked
}

/// Runs the agent until SIGTERM or SIGINT (`.stopped`) or until it is locked
/// (`.locked`), then shuts down gracefully: in-flight requests are answered,
/// the socket removed. `onRunning` is called once the socket is bound and the
/// server accepts connections.
///
/// A lock does not wait for slow requests (a validation may run for an
/// hour): if the shutdown has not ended `lockDeadline` after the lock,
/// `onLockDeadline` is called on a thread of its own, whatever is still in
/// flight; it must replace or end the process (`LockedRestart`).
public func runAgent(vault: Vault?, socket: AgentSocket, logger: Logger, scheduler: SchedulerSettings? = nil,
                     gateway listen: GatewayListen? = nil,
                     lockDeadline: Duration = .seconds(2), onLockDeadline: (@Sendable () -> Void)? = nil,
                     onRunning: @escaping @Sendable () -> Void = {}) async throws -> AgentExit {
    // No core dumps, no ptrace by other processes of the same user.
    var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
    setrlimit(Int32(RLIMIT_CORE.rawValue), &noCore)
    _ = kw_disable_dumping()
    let limits = ConnectionLimits.forDescriptorLimit(ConnectionLimits.raiseDescriptorLimit())
    try socket.prepare()
    let state = AgentState(vault: vault)
    let auditPool = NIOThreadPool(numberOfThreads: 1)
    auditPool.start()
    // Vault work for the API's operations: blocking I/O and crypto, kept off
    // the concurrency pool that serves the other connections.
    let vaultPool = NIOThreadPool(numberOfThreads: 2)
    vaultPool.start()
    // A locked agent forwards nothing: its gateway would have no key to use.
    let agent = AgentDependencies(state: state, logger: logger, auditPool: auditPool, vaultPool: vaultPool,
                                  gateway: vault == nil ? nil : listen?.settings)
    let app = buildApplication(agent, socket: socket, limits: limits, scheduler: scheduler) {
        // Start-up is over: its code need not stay mapped (StartupCodePages).
        StartupCodePages.release()
        onRunning()
    }
    defer { unlink(socket.path) }
    // A group stops its services in reverse order: the gateway's upstream
    // clients and traffic records come first so that they stop last, after
    // both listeners have answered what is in flight.
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = (agent.gateway?.services ?? []).map { .init(service: $0) }
    services.append(.init(service: app))
    if let gateway = agent.gateway, let listen {
        let address = agent.gatewayAddress
        let host = listen.host.contains(":") ? "[\(listen.host)]" : listen.host
        services.append(.init(service: buildGatewayApplication(gateway, host: listen.host, port: listen.port, logger: logger) { port in
            address.url = "http://\(host):\(port)"
            logger.notice("gateway listening on http://\(host):\(port)")
        }))
        services.append(.init(service: RunTokenSweeper(tokens: agent.runTokens, audit: agent.audit)))
    }
    if vault != nil {
        // Locking ends the group gracefully, like SIGTERM, but within a deadline.
        services.append(.init(service: LockWatcher(state: state, deadline: lockDeadline, onDeadline: onLockDeadline),
                              successTerminationBehavior: .gracefullyShutdownGroup))
    }
    let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    do {
        try await group.run()
    } catch {
        try? await agent.audit.flush()
        try? await vaultPool.shutdownGracefully()
        try? await auditPool.shutdownGracefully()
        throw error
    }
    // Repeats of durable serves counted since the last commit (AuditJournal.count).
    try? await agent.audit.flush()
    try? await vaultPool.shutdownGracefully()
    try? await auditPool.shutdownGracefully()
    return vault != nil && state.isLocked ? .locked : .stopped
}

/// Returns when the agent is locked (or the group shuts down). Once locked,
/// it starts the deadline: a plain thread, so that busy tasks cannot delay it.
struct LockWatcher: Service {
    let state: AgentState
    let deadline: Duration
    let onDeadline: (@Sendable () -> Void)?

    func run() async throws {
        await cancelWhenGracefulShutdown { await state.waitUntilLocked() }
        guard state.isLocked, let onDeadline else { return }
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: seconds)
            onDeadline()
        }
    }
}

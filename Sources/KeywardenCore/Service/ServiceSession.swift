import Logging
import NIOPosix

/// Who asked for an operation: recorded in its audit events, whether it runs
/// in the CLI's own process or in the agent for a client.
public struct ServiceCaller: Sendable, Equatable {
    /// The process that asked (the agent reads uid and pid from the kernel,
    /// `SO_PEERCRED`) and the command it ran (`keywarden key list`).
    public var actor: AuditActor

    public init(actor: AuditActor) {
        self.actor = actor
    }
}

/// Where blocking vault work runs. The CLI runs it inline (one command, one
/// thread); the agent runs it on a thread pool of its own, so database I/O,
/// libsodium and Argon2id never block the Swift concurrency pool that serves
/// its other connections. (GRDB's async access would move only the SQL; the
/// unsealing and MAC checks around it are blocking work too, so the whole
/// vault call moves.)
public enum StorageExecutor: Sendable {
    case inline
    case pool(NIOThreadPool)

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        switch self {
        case .inline: return try body()
        case .pool(let pool): return try await pool.runIfActive(body)
        }
    }
}

/// How blocking vault work runs for one caller: on `executor`, refused once
/// `isLocked` reports that the agent was locked meanwhile, with every audit
/// event it writes naming `actor`. Long work that awaits between its vault
/// calls (a rotation: probes and commands) takes one and runs each call
/// through it, so each call is checked and kept off the concurrency pool.
public struct VaultRunner: Sendable {
    public let executor: StorageExecutor
    public let isLocked: @Sendable () -> Bool
    /// The caller audit events name; nil keeps the task's own
    /// (`AuditActor.current` where `run` is called, else the vault's).
    public let actor: AuditActor?

    public init(executor: StorageExecutor, isLocked: @escaping @Sendable () -> Bool = { false }, actor: AuditActor? = nil) {
        self.executor = executor
        self.isLocked = isLocked
        self.actor = actor
    }

    /// In-process, as the CLI and tests run: inline, never locked.
    public static let inline = VaultRunner(executor: .inline)

    /// Runs `body` on the executor unless the agent was locked meanwhile
    /// (``KeywardenError/lockedMeanwhile``). The task-local actor does not
    /// cross to a pool thread, so it is carried over explicitly.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let isLocked = self.isLocked
        let actor = self.actor ?? AuditActor.current
        return try await executor.run {
            if isLocked() { throw KeywardenError.lockedMeanwhile }
            return try AuditActor.$current.withValue(actor) { try body() }
        }
    }
}

/// What the agent offers an operation beyond the vault (nil in-process).
public struct AgentControls: Sendable {
    /// Locks the agent: it stops serving and restarts locked.
    public var lock: @Sendable () async -> Void
    /// Whether the agent was locked meanwhile. A long operation (a
    /// validation, a rotation) checks it before each vault call, so nothing
    /// more is written through a vault the agent has given up.
    public var isLocked: @Sendable () -> Bool
    /// Mints a run token for the caller (``AgentControl/GatewayToken``):
    /// in memory, gateway-only, bound to the caller's process. Throws
    /// ``KeywardenError/gatewayOff`` when the agent runs without a gateway;
    /// nil where no agent could mint one.
    public var mintGatewayToken: (@Sendable (GatewayTokenGrant) async throws -> MintedGatewayToken)?

    public init(lock: @escaping @Sendable () async -> Void, isLocked: @escaping @Sendable () -> Bool,
                mintGatewayToken: (@Sendable (GatewayTokenGrant) async throws -> MintedGatewayToken)? = nil) {
        self.lock = lock
        self.isLocked = isLocked
        self.mintGatewayToken = mintGatewayToken
    }
}

/// What an operation runs with: the vault, the caller, and where blocking
/// work belongs.
public struct ServiceSession: Sendable {
    public let vault: Vault
    public let caller: ServiceCaller
    public let executor: StorageExecutor
    /// Set when the operation runs inside the agent.
    public let agent: AgentControls?

    public init(vault: Vault, caller: ServiceCaller, executor: StorageExecutor, agent: AgentControls? = nil) {
        self.vault = vault
        self.caller = caller
        self.executor = executor
        self.agent = agent
    }

    /// Runs vault work on the session's executor, with every audit event it
    /// writes naming the caller.
    public func vault<T: Sendable>(_ body: @escaping @Sendable (Vault) throws -> T) async throws -> T {
        let vault = self.vault
        return try await runner.run { try body(vault) }
    }

    /// This session's way of running vault work (``vault(_:)``), for work
    /// that must run its vault calls one by one: the session's executor, the
    /// agent's "locked meanwhile" check, audit events naming the caller.
    public var runner: VaultRunner {
        let agent = self.agent
        return VaultRunner(executor: executor, isLocked: { agent?.isLocked() == true }, actor: caller.actor)
    }

    public var logger: Logger { vault.context.logger }
}

/// The in-process implementation: operations run against `vault` here.
public struct LocalService: KeywardenService {
    public let session: ServiceSession

    public init(vault: Vault, caller: ServiceCaller, executor: StorageExecutor = .inline, agent: AgentControls? = nil) {
        session = ServiceSession(vault: vault, caller: caller, executor: executor, agent: agent)
    }

    public func perform<Operation: ServiceOperation>(_ operation: Operation) async throws -> Operation.Response {
        do {
            return try await operation.run(in: session)
        } catch let error as KeywardenError {
            throw error
        } catch is CancellationError {
            throw KeywardenError(.failed, "cancelled")
        } catch {
            throw KeywardenError(.failed, "\(Operation.name) failed: \(error)")
        }
    }

    public var endpoint: ServiceEndpoint { .inProcess(vaultPath: session.vault.shownLocation) }
}

extension KeywardenError {
    /// The agent was locked while an operation ran: the rest of it is not done.
    static let lockedMeanwhile = KeywardenError(.locked, "the agent was locked while this ran; the rest was not done. Start the agent again (`keywarden serve`) and retry")
}

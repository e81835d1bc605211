#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import KeywardenCore
import Logging
import NIOPosix

/// Everything the agent's routes work with: the vault it holds, the audit
/// journal, metrics, access control, and the pool for vault work. The agent
/// builds one per process (`runAgent`); tests build one around a temporary
/// vault, with a ``PeerIdentifier`` of their own.
struct AgentDependencies: Sendable {
    let state: AgentState
    let audit: AuditJournal
    let metrics: AgentMetrics
    let access: AccessControl
    /// Where vault work runs: blocking I/O and crypto, kept off the Swift
    /// concurrency pool that serves the other connections.
    let vaultPool: NIOThreadPool
    /// Heap pages freed after large answers, handed back to the system.
    let freedMemory = FreedMemory()
    /// `run --gateway`'s tokens: in memory, bound to their processes.
    let runTokens = RunTokens()
    /// The gateway's TCP address once bound; nil without `--gateway`.
    let gatewayAddress = GatewayAddress()
    /// The gateway (`serve --gateway`); nil without it.
    let gateway: Gateway?
    let logger: Logger

    /// `auditPool` is where the journal commits: a pool of its own, so its
    /// commits never wait behind vault work.
    init(state: AgentState, logger: Logger, auditPool: NIOThreadPool, vaultPool: NIOThreadPool,
         peers: any PeerIdentifier = KernelPeers(), owner: UInt32 = getuid(), gateway settings: GatewaySettings? = nil) {
        self.state = state
        self.logger = logger
        self.vaultPool = vaultPool
        audit = AuditJournal(state: state, logger: logger, pool: auditPool)
        metrics = AgentMetrics()
        access = AccessControl(state: state, audit: audit, metrics: metrics, peers: peers, owner: owner, pool: vaultPool, runTokens: runTokens)
        let (audit, runTokens) = (audit, runTokens)
        gateway = settings.map { Gateway(state: state, vaultPool: vaultPool, auditPool: auditPool, audit: audit, logger: logger, settings: $0, runTokens: runTokens) }
    }

    /// The unlocked vault, or 423 once the agent is locked.
    func unlocked() throws -> Vault {
        guard let vault = state.current else { throw KeywardenError.agentLocked }
        return vault
    }

    /// The Keywarden API for `caller`: the agent's vault, its audit events
    /// naming the caller and the command it says it runs, vault work on the
    /// agent's pool.
    func service(for caller: Caller, _ request: Request) throws -> LocalService {
        let actor = caller.actor(command: request.headers[.keywardenCommand])
        let agent = AgentControls(lock: { await lock(by: caller) }, isLocked: { [state] in state.isLocked },
                                  mintGatewayToken: { [runTokens, gatewayAddress, audit] grant in
            // The token is bound to the process on the other end of the
            // socket: `run`, which then execs the command under the same pid.
            guard let url = gatewayAddress.url else { throw KeywardenError.gatewayOff }
            let pid = caller.peer.pid
            let minted = runTokens.mint(scope: grant.scope, providers: grant.providers, pid: pid, ttl: grant.ttl, program: grant.program)
            do {
                try await audit.record(AuditDraft(action: "token.create", scope: grant.scope, outcome: "ok",
                                                  detail: "ephemeral gateway token for run \(grant.program), pid \(pid); providers \(grant.providers.joined(separator: ",")); revoked when it exits",
                                                  actor: actor))
            } catch {
                // No token leaves without its event.
                runTokens.revoke(id: minted.info.id)
                throw error
            }
            return MintedGatewayToken(token: minted.token, gatewayURL: url)
        })
        return LocalService(vault: try unlocked(), caller: ServiceCaller(actor: actor), executor: .pool(vaultPool), agent: agent)
    }

    /// Performs `operation` for `caller`, as the CLI would in-process. A
    /// token's "not found" is its answer for everything outside its grant.
    /// An answer is withheld when the agent was locked meanwhile, except the
    /// answer to the lock itself.
    func perform<Operation: ServiceOperation>(_ operation: Operation, for caller: Caller, _ request: Request) async throws -> Operation.Response {
        let service = try service(for: caller, request)
        let answer = try await access.answering(caller) { try await service.perform(operation) }
        guard !state.isLocked || Operation.self == AgentControl.Lock.self else { throw KeywardenError.agentLocked }
        return answer
    }

    /// Vault work no operation covers: reads that honour a token's grant
    /// (`visible:` filters), which an operation's request cannot carry. Runs
    /// like an operation: on the pool, audit events naming the caller, a
    /// token's "not found" as for what lies outside its grant.
    func vault<T: Sendable>(for caller: Caller, _ request: Request, _ body: @escaping @Sendable (Vault) throws -> T) async throws -> T {
        let session = try service(for: caller, request).session
        return try await access.answering(caller) {
            do {
                return try await session.vault(body)
            } catch let error as KeywardenError {
                throw error
            } catch {
                throw KeywardenError(.failed, "the agent could not complete the request: \(error)")
            }
        }
    }

    /// Locks the agent for `caller` (``AgentControls/lock``, which
    /// `agent.lock` calls): recorded, then no value is served and the
    /// process restarts locked (`runAgent`, `LockedRestart`).
    func lock(by caller: Caller) async {
        if !state.isLocked {
            // Locking is the safe direction: it happens even if the event cannot be written.
            try? await audit.record(AuditDraft(action: "agent.lock", outcome: "ok",
                                               detail: "locked by uid \(caller.peer.uid), pid \(caller.peer.pid); the agent restarts locked",
                                               actor: caller.actor))
        }
        state.lock()
        // The process restarts locked anyway; until then nothing is forwarded
        // and no decrypted pool is left in reach.
        runTokens.revokeAll()
        gateway?.pools.removeAll()
    }
}

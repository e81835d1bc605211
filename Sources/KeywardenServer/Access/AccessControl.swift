#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import KeywardenCore
import NIOConcurrencyHelpers
import NIOPosix

/// Decides who may read what, and records every refusal. A token that asks
/// for something outside its grant gets the same answer as for something that
/// does not exist (``KeywardenError/notFoundForToken``); the audit trail
/// records the precise reason for the owner.
struct AccessControl: Sendable {
    let state: AgentState
    let audit: AuditJournal
    let metrics: AgentMetrics
    /// Where the kernel's view of each request's peer comes from.
    let peers: any PeerIdentifier
    /// The agent's own user: full access, like root.
    let owner: UInt32
    /// Where token checks (a database read) run, off the concurrency pool.
    let pool: NIOThreadPool
    let usage: TokenUsage
    /// `run --gateway`'s tokens, which only the gateway's routes accept.
    let runTokens: RunTokens?

    init(state: AgentState, audit: AuditJournal, metrics: AgentMetrics, peers: any PeerIdentifier, owner: UInt32, pool: NIOThreadPool, runTokens: RunTokens? = nil) {
        self.runTokens = runTokens
        self.state = state
        self.audit = audit
        self.metrics = metrics
        self.peers = peers
        self.owner = owner
        self.pool = pool
        usage = TokenUsage(pool: pool)
    }

    /// The caller, or a 403 for another user without a valid token.
    func caller(_ request: Request, _ context: AgentRequestContext) async throws -> Caller {
        let peer: PeerCredentials
        do {
            peer = try await peers.peer(of: request, context: context)
        } catch {
            throw deny(nil, reason: "peer credentials unavailable", detail: "the connection's peer could not be identified")
        }
        if peer.uid == owner || peer.uid == 0 { return Caller(peer: peer, token: nil) }
        let presented: Secret
        let throughGateway = request.uri.path.hasPrefix(GatewayRoutes.prefix)
        if throughGateway {
            // Where the provider's SDK puts its key: the program's API-key variable holds the token.
            let credential: PresentedCredential?
            do {
                credential = try PresentedCredential.of(request)
            } catch {
                throw deny(peer, reason: "bad token", detail: "uid \(peer.uid) sent the gateway a credential that is not a Keywarden token")
            }
            guard let credential else {
                throw deny(peer, reason: "no token", detail: "uid \(peer.uid) is not the agent's owner and sent the gateway no token")
            }
            presented = credential.secret
        } else {
            guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count > 7 else {
                throw deny(peer, reason: "no token", detail: "uid \(peer.uid) is not the agent's owner and sent no token (Authorization: Bearer …)")
            }
            presented = Secrets.secret(copying: header.utf8.dropFirst(7))
        }
        if let run = presented.withUnsafeBytes({ runTokens?.authenticate($0) }) {
            // A run token reaches providers through the gateway, and nothing else.
            guard throughGateway else {
                throw deny(peer, token: run, reason: "gateway only", detail: "token '\(run.name)' is for the gateway (/gw/…) only")
            }
            return Caller(peer: peer, token: run)
        }
        guard let vault = state.current else { throw KeywardenError.agentLocked }
        let checked: Result<AgentToken, TokenRejection>
        do {
            checked = try await pool.runIfActive { try vault.authenticate(token: presented) }
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw KeywardenError(.failed, "the agent could not check the token (\(error)); try again")
        }
        switch checked {
        case .success(let token):
            usage.used(token, vault: vault)
            return Caller(peer: peer, token: token)
        case .failure(let rejection):
            throw deny(peer, reason: "bad token", detail: rejection.reason)
        }
    }

    /// Refuses a caller that may not read `scope` (and `provider`): a token
    /// without that grant gets the answer "not found".
    func require(_ caller: Caller, scope: String?, provider: String? = nil) throws {
        guard let token = caller.token else { return }
        guard let scope else {
            throw deny(caller.peer, token: token, reason: "scope required", detail: "token '\(token.name)' must name a scope (?scope=…)")
        }
        guard token.allows(scope: scope) else {
            throw refuse(caller, reason: "scope not allowed", detail: "token '\(token.name)' may not read scope \(scope)")
        }
        if let provider, !token.allows(provider: provider) {
            throw refuse(caller, reason: "provider not allowed", detail: "token '\(token.name)' may not read \(provider) keys")
        }
    }

    /// Owner-only operations (lock, reveal by id, validate, the API).
    func requireOwner(_ caller: Caller, _ what: String) throws {
        if let token = caller.token {
            throw deny(caller.peer, token: token, reason: "owner only", detail: "\(what) is for the agent's owner only")
        }
    }

    /// Runs `body` for `caller`. For a token, "not found" is the one answer
    /// it also gets for what lies outside its grant.
    func answering<T>(_ caller: Caller, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as KeywardenError where error.kind == .notFound && caller.token != nil {
            throw KeywardenError.notFoundForToken
        }
    }

    /// A token's request for something outside its grant: audited with the
    /// reason, answered exactly like a request for something that does not exist.
    private func refuse(_ caller: Caller, reason: String, detail: String) -> KeywardenError {
        _ = deny(caller.peer, token: caller.token, reason: reason, detail: detail)
        return .notFoundForToken
    }

    private func deny(_ peer: PeerCredentials?, token: AgentToken? = nil, reason: String, detail: String) -> RequestRefused {
        metrics.denial(reason)
        let actor = AuditActor(uid: peer?.uid ?? 0, pid: peer?.pid ?? 0, name: token.map { "agent client, token '\($0.name)'" } ?? "agent client")
        // A refusal serves nothing, so it does not wait on (or fail with) the audit.
        audit.post(AuditDraft(action: "agent.deny", outcome: "denied", detail: "\(detail) (uid \(peer.map { String($0.uid) } ?? "?"), pid \(peer.map { String($0.pid) } ?? "?"))", actor: actor))
        return .forbidden(detail)
    }
}

/// Keeps `agent_tokens.last_used_at` current without a write per request: at
/// most one write per token per minute, on the vault's pool, off the
/// request's path.
final class TokenUsage: Sendable {
    static let resolutionMilliseconds: Int64 = 60_000
    private let written = NIOLockedValueBox<[String: Timestamp]>([:])
    private let pool: NIOThreadPool

    init(pool: NIOThreadPool) {
        self.pool = pool
    }

    func used(_ token: AgentToken, vault: Vault) {
        let now = vault.context.clock()
        let due = written.withLockedValue { written -> Bool in
            if let last = written[token.id] ?? token.lastUsedAt, now.millisecondsSince1970 - last.millisecondsSince1970 < Self.resolutionMilliseconds {
                return false
            }
            written[token.id] = now
            return true
        }
        guard due else { return }
        let id = token.id
        pool.submit { _ in try? vault.markTokenUsed(id: id, at: now) }
    }
}

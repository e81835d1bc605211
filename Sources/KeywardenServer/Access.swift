#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import KeywardenCore
import KeywardenCrypto
import NIOConcurrencyHelpers
import NIOPosix

/// Who is asking, as far as the agent can tell: the kernel-reported peer and,
/// for other users, the token they presented.
public struct Caller: Sendable {
    public var peer: PeerCredentials
    /// nil for the agent's own user (and root), who have full access.
    public var token: AgentToken?

    public var isOwner: Bool { token == nil }

    var actor: AuditActor { actor(command: nil) }

    /// The caller as the audit trail names it: the kernel's uid and pid, and
    /// the command it says it runs (`keywarden key list`), marked as coming
    /// through the agent. The command is the client's word, so it is cut to
    /// one short printable line.
    func actor(command: String?) -> AuditActor {
        let said = command.map { String($0.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(80).map(Character.init)) }
        let name: String
        if let token {
            name = "agent client, token '\(token.name)'"
        } else if let said, !said.isEmpty {
            name = "\(said) (via agent)"
        } else {
            name = "agent client"
        }
        return AuditActor(uid: peer.uid, pid: peer.pid, name: name)
    }

    /// Whether the caller may see or act on a key of `provider` in `scope`.
    func allows(provider: String, scope: String) -> Bool { token?.allows(provider: provider, scope: scope) ?? true }

    /// Whether the caller may read `variable` of a scope it may read: a key of
    /// a granted provider, or a config entry the token names (or `*`).
    func allows(_ variable: DeliveredVariable) -> Bool {
        guard let token else { return true }
        switch variable.origin {
        case .key(_, let provider, _): return token.allows(provider: provider)
        case .config: return token.allows(config: variable.name)
        }
    }
}

/// Decides who may read what, and records every refusal. A token that asks
/// for something outside its grant gets the same answer as for something that
/// does not exist (`AgentError.notFoundForToken`); the audit trail records the
/// precise reason for the owner.
struct AccessControl: Sendable {
    let state: AgentState
    let audit: AuditJournal
    let metrics: AgentMetrics
    let owner = getuid()
    let peers = PeerCache()
    let usage = TokenUsage()

    /// The caller, or a 403 for another user without a valid token.
    func caller(_ request: Request, _ context: AgentRequestContext) async throws -> Caller {
        let peer: PeerCredentials
        do {
            peer = try await peers.peer(of: context.channel)
        } catch {
            throw await deny(nil, reason: "peer credentials unavailable", detail: "the connection's peer could not be identified")
        }
        if peer.uid == owner || peer.uid == 0 { return Caller(peer: peer, token: nil) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count > 7 else {
            throw await deny(peer, reason: "no token", detail: "uid \(peer.uid) is not the agent's owner and sent no token (Authorization: Bearer …)")
        }
        guard let vault = state.current else { throw AgentError.locked }
        let presented = SecureBytes(copying: Array(header.utf8.dropFirst(7)))
        switch try vault.authenticate(token: presented) {
        case .success(let token):
            usage.used(token, vault: vault)
            return Caller(peer: peer, token: token)
        case .failure(let rejection): throw await deny(peer, reason: "bad token", detail: rejection.reason)
        }
    }

    /// Refuses a caller that may not read `scope` (and `provider`): a token
    /// without that grant gets the answer "not found".
    func require(_ caller: Caller, scope: String?, provider: String? = nil) async throws {
        guard let token = caller.token else { return }
        guard let scope else {
            throw await deny(caller.peer, token: token, reason: "scope required", detail: "token '\(token.name)' must name a scope (?scope=…)")
        }
        guard token.allows(scope: scope) else {
            throw await refuse(caller, reason: "scope not allowed", detail: "token '\(token.name)' may not read scope \(scope)")
        }
        if let provider, !token.allows(provider: provider) {
            throw await refuse(caller, reason: "provider not allowed", detail: "token '\(token.name)' may not read \(provider) keys")
        }
    }

    /// A token's request for something outside its grant: audited with the
    /// reason, answered exactly like a request for something that does not exist.
    func refuse(_ caller: Caller, reason: String, detail: String) async -> AgentError {
        _ = await deny(caller.peer, token: caller.token, reason: reason, detail: detail)
        return .notFoundForToken
    }

    /// Owner-only operations (lock, reveal by id, validate).
    func requireOwner(_ caller: Caller, _ what: String) async throws {
        if let token = caller.token {
            throw await deny(caller.peer, token: token, reason: "owner only", detail: "\(what) is for the agent's owner only")
        }
    }

    private func deny(_ peer: PeerCredentials?, token: AgentToken? = nil, reason: String, detail: String) async -> AgentError {
        metrics.denial(reason)
        let actor = AuditActor(uid: peer?.uid ?? 0, pid: peer?.pid ?? 0, name: token.map { "agent client, token '\($0.name)'" } ?? "agent client")
        // A refusal serves nothing, so it does not wait on (or fail with) the audit.
        audit.post(AuditDraft(action: "agent.deny", outcome: "denied", detail: "\(detail) (uid \(peer.map { String($0.uid) } ?? "?"), pid \(peer.map { String($0.pid) } ?? "?"))", actor: actor))
        return AgentError(.forbidden, detail)
    }
}

/// Keeps `agent_tokens.last_used_at` current without a write per request: at
/// most one write per token per minute, on the blocking pool, off the
/// request's path.
final class TokenUsage: Sendable {
    static let resolutionMilliseconds: Int64 = 60_000
    private let written = NIOLockedValueBox<[String: Timestamp]>([:])

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
        NIOThreadPool.singleton.submit { _ in try? vault.markTokenUsed(id: id, at: now) }
    }
}

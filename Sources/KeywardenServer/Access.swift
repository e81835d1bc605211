#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import KeywardenCore
import KeywardenCrypto

/// Who is asking, as far as the agent can tell: the kernel-reported peer and,
/// for other users, the token they presented.
public struct Caller: Sendable {
    public var peer: PeerCredentials
    /// nil for the agent's own user (and root), who have full access.
    public var token: AgentToken?

    public var isOwner: Bool { token == nil }

    var actor: AuditActor {
        AuditActor(uid: peer.uid, pid: peer.pid, name: token.map { "agent client, token '\($0.name)'" } ?? "agent client")
    }
}

/// Decides who may read what, and records every refusal.
struct AccessControl: Sendable {
    let state: AgentState
    let audit: AuditBuffer
    let metrics: AgentMetrics
    let owner = getuid()
    let peers = PeerCache()

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
        case .success(let token): return Caller(peer: peer, token: token)
        case .failure(let rejection): throw await deny(peer, reason: "bad token", detail: rejection.reason)
        }
    }

    /// Refuses a caller that may not read `scope` (and `provider`).
    func require(_ caller: Caller, scope: String?, provider: String? = nil) async throws {
        guard let token = caller.token else { return }
        guard let scope else {
            throw await deny(caller.peer, token: token, reason: "scope required", detail: "token '\(token.name)' must name a scope (?scope=…)")
        }
        guard token.allows(scope: scope) else {
            throw await deny(caller.peer, token: token, reason: "scope not allowed", detail: "token '\(token.name)' may not read scope \(scope)")
        }
        if let provider, !token.allows(provider: provider) {
            throw await deny(caller.peer, token: token, reason: "provider not allowed", detail: "token '\(token.name)' may not read \(provider) keys")
        }
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
        audit.append(AuditDraft(action: "agent.deny", outcome: "denied", detail: "\(detail) (uid \(peer.map { String($0.uid) } ?? "?"), pid \(peer.map { String($0.pid) } ?? "?"))", actor: actor))
        return AgentError(.forbidden, detail)
    }
}

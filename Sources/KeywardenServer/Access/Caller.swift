import KeywardenCore

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

    /// Whether the caller may see keys of `provider` (in a scope it may read).
    func allows(provider: String) -> Bool { token?.allows(provider: provider) ?? true }

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

/// `agent_tokens`: a client credential, stored as a keyed hash. The grants
/// are JSON arrays of names.
struct AgentTokenRecord: Sendable, Equatable {
    var id: String
    var name: String
    var hash: String
    var scopes: [String]
    /// Empty: every provider.
    var providers: [String]
    /// Config names, `["*"]` for all; empty: none (0006_agent).
    var config: [String]
    var createdAt: Timestamp
    var expiresAt: Timestamp?
    var revokedAt: Timestamp?
    /// Bookkeeping, not covered by the row's MAC.
    var lastUsedAt: Timestamp?
}

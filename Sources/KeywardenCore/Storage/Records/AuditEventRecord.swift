/// `audit_events`: append-only, hash-chained. `at` is stored, and hashed, in
/// the fixed-width form of `Timestamp.iso8601`; another form does not decode.
struct AuditEventRecord: Sendable, Equatable {
    var seq: Int64
    var at: Timestamp
    var actorUid: Int64
    var actorPid: Int64
    var actor: String
    var action: String
    var provider: String?
    var scope: String?
    var keyId: String?
    var fingerprint: String?
    /// `ok`, `denied`, a validation outcome, …: not a closed set (the agent
    /// and the gateway record their own), so it stays text.
    var outcome: String
    var detail: String?
    /// Nil until sealed into the chain (events written while locked).
    var hash: String?
    /// Recorded while the vault was locked: chained, but nobody with the key vouched for it.
    var recordedLocked = false
}

/// Which audit events to list (every field set must match).
struct AuditQuery: Sendable {
    var provider: String?
    var scope: String?
    var keyID: String?
    /// A normalized `audit --action` filter (see `AuditActions.matches`).
    var action: String?
    var since: Timestamp?
    var outcomes: [String]?
    /// Only the newest N (still listed oldest first).
    var newest: Int?
}

/// The append-only audit trail.
protocol AuditReading {
    /// The highest sequence number, sealed or not; 0 when empty.
    func lastAuditSeq() throws -> Int64
    /// Events after `seq`, oldest first.
    func auditEvents(after seq: Int64) throws -> [AuditEventRecord]
    /// Matching events, oldest first.
    func auditEvents(_ query: AuditQuery) throws -> [AuditEventRecord]
    /// Every event, oldest first, one at a time, until `body` returns false.
    func forEachAuditEvent(_ body: (AuditEventRecord) throws -> Bool) throws
    /// What the storage engine finds wrong in the file's structure (SQLite's
    /// `quick_check`, which reads every page); empty when nothing.
    func storageDamage() throws -> [String]
    /// The stored hash of one event (nil: unsealed or absent).
    func auditHash(seq: Int64) throws -> String?
}

protocol AuditWriting: AuditReading {
    func insert(_ event: AuditEventRecord) throws
    /// Seals an event written while the vault was locked: sets its hash and
    /// marks it recorded-locked, the only change an event ever gets.
    func seal(seq: Int64, hash: String) throws
}

import KeywardenCrypto

/// An event to append. Holds names, ids and fingerprints only — never a value.
public struct AuditDraft: Sendable {
    public var action: String
    public var provider: String?
    public var scope: String?
    public var keyID: String?
    public var fingerprint: String?
    public var outcome: String
    public var detail: String?
    /// Who acted, when not the vault's own process (an agent's client).
    public var actor: AuditActor?
    /// When it happened, when recorded later (the agent batches its events).
    public var at: Timestamp?

    public init(action: String, provider: String? = nil, scope: String? = nil, keyID: String? = nil,
                fingerprint: String? = nil, outcome: String, detail: String? = nil, actor: AuditActor? = nil, at: Timestamp? = nil) {
        self.actor = actor
        self.at = at
        self.action = action
        self.provider = provider
        self.scope = scope
        self.keyID = keyID
        self.fingerprint = fingerprint
        self.outcome = outcome
        self.detail = detail
    }
}

/// An audit event as listed. JSON field names are part of the CLI contract.
public struct AuditEvent: Codable, Sendable, Equatable {
    public var seq: Int64
    public var at: String
    public var uid: Int64
    public var pid: Int64
    public var actor: String
    public var action: String
    public var provider: String?
    public var scope: String?
    public var keyID: String?
    public var fingerprint: String?
    public var outcome: String
    public var detail: String?
    /// False for events written while the vault was locked and not yet chained.
    public var sealed: Bool
    /// False for events recorded while the vault was locked (failed unlocks):
    /// they are chained, so they cannot be removed or reordered unnoticed,
    /// but nobody holding the key vouched for their content. Stays false.
    public var authenticated: Bool

    enum CodingKeys: String, CodingKey {
        case seq, at, uid, pid, actor, action, provider, scope, keyID = "key_id", fingerprint, outcome, detail, sealed, authenticated
    }

    init(_ r: AuditEventRecord) {
        seq = r.seq
        at = r.at.iso8601
        uid = r.actorUid
        pid = r.actorPid
        actor = r.actor
        action = r.action
        provider = r.provider
        scope = r.scope
        keyID = r.keyId
        fingerprint = r.fingerprint
        outcome = r.outcome
        detail = r.detail
        sealed = r.hash != nil
        // Not yet sealed means not yet vouched for, whatever the row says.
        authenticated = r.hash != nil && !r.recordedLocked
    }
}

/// Which events to list.
public struct AuditFilter: Sendable {
    public var provider: String?
    public var scope: String?
    public var keyID: String?
    public var action: String?
    public var since: Timestamp?
    /// Only events where a key failed authentication (`invalid`, `forbidden`).
    public var failedAuth = false
    public var limit: Int?

    public init() {}
}

/// The outcome of `audit verify`.
public struct AuditVerification: Codable, Sendable {
    public var ok: Bool
    /// Events whose chain link was checked.
    public var checked: Int
    /// Trailing events written while locked and not yet sealed into the chain.
    public var unsealed: Int
    /// Chained events recorded while the vault was locked: their place in the
    /// chain is checked, their content was never vouched for.
    public var unauthenticated: Int = 0
    /// Remarks that are not failures (e.g. the anchor was recorded now).
    public var notes: [String] = []
    /// The first problem found, naming the event.
    public var problem: String?
    public var firstBadSeq: Int64?

    enum CodingKeys: String, CodingKey {
        case ok, checked, unsealed, unauthenticated, notes, problem, firstBadSeq = "first_bad_seq"
    }
}

/// The append-only, hash-chained audit trail. Each sealed event's hash is a
/// keyed BLAKE2b over the previous event's hash and this event's fields, so an
/// edited, deleted or reordered event breaks the chain at that point, and
/// nobody without the master key can recompute it. The vault header records
/// the newest sealed event, so deleting the newest events is detected too.
public enum AuditTrail {
    static let genesisHash = String(repeating: "0", count: 64)
    /// Outcomes that mean a key failed authentication (`audit --failed-auth`).
    static let failedAuthOutcomes = ValidationOutcome.allCases.filter(\.isAuthFailure).map(\.rawValue)

    /// Appends an event that cannot be chained because the vault is locked (a
    /// failed unlock). The next unlocked write seals it. Best effort: a failure
    /// to record must not hide the unlock error from the user.
    static func appendUnsealed(_ draft: AuditDraft, store: any VaultStore, context: VaultContext) {
        _ = try? store.write(.beforeUnlock, observer: nil) { tx in
            var record = AuditEventRecord(draft, seq: try tx.lastAuditSeq() + 1, at: context.clock(), actor: context.actor)
            record.recordedLocked = true
            try tx.insert(record)
        }
    }

    /// The canonical bytes hashed for one event. From `v2From` on (migration
    /// 0004), the form includes whether the event was recorded while locked,
    /// so that mark cannot be removed once the event is chained; older events
    /// keep the v1 form they were sealed in.
    static func canonical(_ r: AuditEventRecord, v2From: Int64) -> [UInt8] {
        var fields = [
            // `at` is stored exactly in this form (AuditEventRecord).
            r.seq >= v2From ? "keywarden/audit/v2" : "keywarden/audit/v1", String(r.seq), r.at.iso8601, String(r.actorUid), String(r.actorPid), r.actor, r.action,
            r.provider ?? "\u{0}", r.scope ?? "\u{0}", r.keyId ?? "\u{0}", r.fingerprint ?? "\u{0}", r.outcome, r.detail ?? "\u{0}",
        ]
        if r.seq >= v2From { fields.append(r.recordedLocked ? "recorded-locked" : "recorded-unlocked") }
        return BoundFields(fields).bytes
    }
}

extension AuditEventRecord {
    init(_ draft: AuditDraft, seq: Int64, at: Timestamp, actor: AuditActor) {
        self.init(
            seq: seq, at: at, actorUid: Int64(actor.uid), actorPid: Int64(actor.pid), actor: DisplayText.sanitized(actor.name),
            action: draft.action, provider: draft.provider, scope: draft.scope, keyId: draft.keyID,
            fingerprint: draft.fingerprint, outcome: draft.outcome,
            // Free text (a client's report, a command's stderr) is stored
            // without terminal controls, so no listing can replay them.
            detail: draft.detail.map(DisplayText.sanitized), hash: nil)
    }
}

extension Vault {
    func chainHash(previous: String, _ record: AuditEventRecord, v2From: Int64) throws -> String {
        guard let prev = [UInt8](hexString: previous) else { throw KeywardenError(.integrity, "the audit chain head is malformed") }
        return try KeyedHash.hash([prev, AuditTrail.canonical(record, v2From: v2From)], key: auditKey).hexString
    }

    /// Appends an event inside the caller's transaction, first sealing any
    /// events left unsealed by failed unlocks.
    func appendAudit(_ draft: AuditDraft, _ tx: any StoreWriting) throws {
        guard var header = try tx.headerForUpdate() else {
            throw KeywardenError(.integrity, "the vault header is missing")
        }
        let pending = try tx.auditEvents(after: header.auditHeadSeq)
        var head = (seq: header.auditHeadSeq, hash: header.auditHeadHash)
        for var record in pending where record.hash == nil {
            // Whatever the row claims, an event written without the key is
            // chained as recorded-locked: a forged one stays marked.
            record.recordedLocked = true
            let hash = try chainHash(previous: head.hash, record, v2From: header.auditV2FromSeq)
            try tx.seal(seq: record.seq, hash: hash)
            head = (record.seq, hash)
        }
        let seq = max(head.seq, pending.last?.seq ?? 0) + 1
        var record = AuditEventRecord(draft, seq: seq, at: draft.at ?? now, actor: draft.actor ?? AuditActor.current ?? context.actor)
        record.hash = try chainHash(previous: head.hash, record, v2From: header.auditV2FromSeq)
        try tx.insert(record)
        header.auditHeadSeq = seq
        header.auditHeadHash = record.hash!
        try tx.update(header)
    }

    /// Appends an event in its own transaction (for reads, which change nothing else).
    public func recordAudit(_ draft: AuditDraft) throws(KeywardenError) {
        try write { tx in try appendAudit(draft, tx) }
    }

    /// Appends many events in one transaction (the agent's batches): the
    /// chain head is read once, each event hashed onto the previous in
    /// memory, and the head written once.
    public func recordAudit(batch drafts: [AuditDraft], observer: CommitObserver? = nil) throws(KeywardenError) {
        guard !drafts.isEmpty else { return }
        try write(mode: .verify, observer: observer) { tx in try appendAudit(batch: drafts, tx) }
    }

    /// Appends many events inside the caller's transaction, as
    /// `recordAudit(batch:)` does (`validate` records 1,000 checks at once).
    func appendAudit(batch drafts: [AuditDraft], _ tx: any StoreWriting) throws {
        guard let first = drafts.first else { return }
        try appendAudit(first, tx)
        guard drafts.count > 1, var header = try tx.headerForUpdate() else { return }
        var head = (seq: header.auditHeadSeq, hash: header.auditHeadHash)
        for draft in drafts.dropFirst() {
            var record = AuditEventRecord(draft, seq: head.seq + 1, at: draft.at ?? now, actor: draft.actor ?? AuditActor.current ?? context.actor)
            record.hash = try chainHash(previous: head.hash, record, v2From: header.auditV2FromSeq)
            try tx.insert(record)
            head = (record.seq, record.hash!)
        }
        header.auditHeadSeq = head.seq
        header.auditHeadHash = head.hash
        try tx.update(header)
    }

    /// Lists events, oldest first.
    public func auditEvents(_ filter: AuditFilter) throws(KeywardenError) -> [AuditEvent] {
        let query = AuditQuery(provider: filter.provider, scope: filter.scope, keyID: filter.keyID, action: filter.action, since: filter.since,
                               outcomes: filter.failedAuth ? AuditTrail.failedAuthOutcomes : nil, newest: filter.limit)
        return try read { tx in try tx.auditEvents(query).map(AuditEvent.init) }
    }

    /// Walks the whole chain and reports the first event that was altered,
    /// deleted or reordered; then compares its head with the header (whose
    /// MAC is checked when it is read) and with the anchor outside the file.
    public func verifyAudit() throws(KeywardenError) -> AuditVerification {
        try read { tx in
            guard let header = try tx.header() else {
                throw KeywardenError(.integrity, "the vault header is missing")
            }
            // The whole file's structure first (every page, not only those a
            // command reads): here rather than at every open, where it cost
            // time in proportion to the audit trail's length.
            let damage = try tx.storageDamage()
            guard damage.isEmpty else {
                return AuditVerification(ok: false, checked: 0, unsealed: 0,
                                         problem: "SQLite reports damage in the vault file (\(damage.prefix(3).joined(separator: "; "))); restore it from a backup",
                                         firstBadSeq: nil)
            }
            var previous = AuditTrail.genesisHash
            var expectedSeq: Int64 = 1
            var checked = 0
            var unsealed = 0
            var unauthenticated = 0
            func failure(_ seq: Int64, _ problem: String) -> AuditVerification {
                AuditVerification(ok: false, checked: checked, unsealed: unsealed, unauthenticated: unauthenticated, problem: problem, firstBadSeq: seq)
            }
            var lastSealed: Int64 = 0
            var broken: AuditVerification?
            try tx.forEachAuditEvent { record in
                if record.seq != expectedSeq {
                    broken = failure(expectedSeq, "event #\(expectedSeq) is missing (deleted); the next event is #\(record.seq)")
                    return false
                }
                expectedSeq += 1
                guard let hash = record.hash else {
                    unsealed += 1
                    return true
                }
                if unsealed > 0 {
                    broken = failure(record.seq, "event #\(record.seq) is sealed after unsealed events; the trail was reordered")
                    return false
                }
                let expected = try chainHash(previous: previous, record, v2From: header.auditV2FromSeq)
                guard constantTimeEquals(Array(expected.utf8), Array(hash.utf8)) else {
                    broken = failure(record.seq, "event #\(record.seq) was altered, or an event before it was removed or reordered (its hash does not match the chain)")
                    return false
                }
                previous = hash
                lastSealed = record.seq
                checked += 1
                if record.recordedLocked { unauthenticated += 1 }
                return true
            }
            if let broken { return broken }
            if lastSealed != header.auditHeadSeq || previous != header.auditHeadHash {
                if lastSealed < header.auditHeadSeq {
                    return failure(lastSealed + 1, "events #\(lastSealed + 1)…#\(header.auditHeadSeq) were deleted (the vault recorded #\(header.auditHeadSeq) as the newest event)")
                }
                return failure(header.auditHeadSeq, "the audit chain does not end where the vault recorded (event #\(header.auditHeadSeq))")
            }
            let anchor = try checkAnchor(head: AuditAnchor.Head(seq: header.auditHeadSeq, hash: header.auditHeadHash)) { seq in
                try tx.auditHash(seq: seq)
            }
            if let problem = anchor.problem { return failure(anchor.badSeq ?? header.auditHeadSeq, problem) }
            var result = AuditVerification(ok: true, checked: checked, unsealed: unsealed, unauthenticated: unauthenticated, problem: nil, firstBadSeq: nil)
            if let note = anchor.note { result.notes.append(note) }
            return result
        }
    }
}

import GRDB

extension SQLiteTransaction {
    func lastAuditSeq() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM audit_events") ?? 0
    }

    func auditEvents(_ query: AuditQuery) throws -> [AuditEventRecord] {
        var request = AuditEventRecord.all()
        if let p = query.provider { request = request.filter(Column("provider") == p) }
        if let s = query.scope { request = request.filter(Column("scope") == s) }
        if let k = query.keyID { request = request.filter(Column("key_id") == k) }
        if let a = query.action { request = request.filter(Self.expression(matchingAction: a)) }
        if let since = query.since { request = request.filter(Column("at") >= since) }
        if let outcomes = query.outcomes { request = request.filter(outcomes.contains(Column("outcome"))) }
        if let newest = query.newest {
            return try request.order(Column("seq").desc).limit(newest).fetchAll(db).reversed()
        }
        return try request.order(Column("seq")).fetchAll(db)
    }

    func forEachAuditEvent(_ body: (AuditEventRecord) throws -> Bool) throws {
        let cursor = try AuditEventRecord.order(Column("seq")).fetchCursor(db)
        while let record = try cursor.next() {
            guard try body(record) else { return }
        }
    }

    func auditHash(seq: Int64) throws -> String? {
        try String.fetchOne(db, sql: "SELECT hash FROM audit_events WHERE seq = ?", arguments: [seq])
    }

    /// One cached INSERT with its arguments in column order: through GRDB's
    /// record API (a DAO and the statement's SQL built per row) each event
    /// cost ~115k instructions, most of a 1,000-key `validate`'s recording.
    func insert(_ event: AuditEventRecord) throws {
        try db.cachedStatement(sql: """
            INSERT INTO audit_events (seq, at, actor_uid, actor_pid, actor, action, provider, scope, key_id, fingerprint, outcome, detail, hash, recorded_locked)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                event.seq, event.at, event.actorUid, event.actorPid, event.actor, event.action, event.provider, event.scope, event.keyId,
                event.fingerprint, event.outcome, event.detail, event.hash, event.recordedLocked,
            ])
    }

    func storageDamage() throws -> [String] {
        try String.fetchAll(db, sql: "PRAGMA quick_check").filter { $0 != "ok" }
    }

    func seal(seq: Int64, hash: String) throws {
        try db.execute(sql: "UPDATE audit_events SET hash = ?, recorded_locked = 1 WHERE seq = ?", arguments: [hash, seq])
    }

    /// `AuditActions.matches` as SQL. The filter holds only letters, dots and
    /// `_` (escaped), so it cannot widen the LIKE patterns.
    static func expression(matchingAction filter: String) -> SQLExpression {
        let action = Column("action")
        let literal = String(filter.flatMap { $0 == "_" ? ["\\", "_"] : [$0] })
        if filter.hasSuffix(".") { return action.like(literal + "%", escape: "\\") }
        if filter.contains(".") { return action == filter }
        return action == filter || action.like(literal + ".%", escape: "\\") || action.like("%." + literal, escape: "\\")
    }
}

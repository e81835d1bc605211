import GRDB

/// The reads every delivery through the agent makes (`run`, `export`,
/// `inject`: the scope chain, its keys and config entries, the header and
/// the audit chain's tail for the delivery's event), on statements SQLite
/// prepares once per connection (`cachedStatement`).
///
/// Built with GRDB's query interface they were prepared anew each time,
/// and preparing — SQLite's parser, and GRDB's authorizer callback for every
/// column it resolves — was two thirds of the agent's instructions for a
/// `run` (callgrind: 6 M per delivery, 2.7 M of them in `sqlite3RunParser`).
/// The SQL is what the query interface wrote for the same requests: every
/// column (`SELECT *`, which the records read by name), one `AND` term per
/// field set, the same order.
extension SQLiteTransaction {
    func keys(_ query: KeyQuery) throws -> [KeyRecord] {
        var terms: [String] = []
        var arguments = StatementArguments()
        func equal(_ column: String, _ value: (any DatabaseValueConvertible)?) {
            guard let value else { return }
            terms.append("\(column) = ?")
            arguments += [value]
        }
        equal("id", query.id)
        equal("provider", query.provider)
        equal("scope", query.scope)
        if let states = query.states {
            if states.isEmpty {
                terms.append("0")
            } else {
                terms.append("state IN (\(Array(repeating: "?", count: states.count).joined(separator: ", ")))")
                for state in states { arguments += [state] }
            }
        }
        equal("env", query.env)
        equal("fingerprint", query.fingerprint)
        if let upTo = query.retireAfterUpTo {
            terms.append("retire_after <= ?")
            arguments += [upTo]
        }
        var sql = "SELECT * FROM \(KeyRecord.databaseTableName)"
        if !terms.isEmpty { sql += " WHERE " + terms.joined(separator: " AND ") }
        switch query.order {
        case .unspecified: break
        case .provider: sql += " ORDER BY provider"
        case .createdAt: sql += " ORDER BY created_at"
        case .providerCreatedAt: sql += " ORDER BY provider, created_at"
        case .providerScopeCreatedAt: sql += " ORDER BY provider, scope, created_at"
        case .retireAfter: sql += " ORDER BY retire_after"
        }
        return try KeyRecord.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }

    func configEntries(scope: String?) throws -> [ConfigEntryRecord] {
        guard let scope else {
            return try ConfigEntryRecord.fetchAll(db.cachedStatement(sql: "SELECT * FROM \(ConfigEntryRecord.databaseTableName) ORDER BY scope, name"))
        }
        return try ConfigEntryRecord.fetchAll(db.cachedStatement(sql: "SELECT * FROM \(ConfigEntryRecord.databaseTableName) WHERE scope = ? ORDER BY name"),
                                             arguments: [scope])
    }

    func scope(named name: String) throws -> ScopeRecord? {
        try ScopeRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM \(ScopeRecord.databaseTableName) WHERE name = ?"), arguments: [name])
    }

    func header() throws -> VaultHeaderRecord? {
        try VaultHeaderRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM \(VaultHeaderRecord.databaseTableName) LIMIT 1"))
    }

    func auditEvents(after seq: Int64) throws -> [AuditEventRecord] {
        try AuditEventRecord.fetchAll(db.cachedStatement(sql: "SELECT * FROM \(AuditEventRecord.databaseTableName) WHERE seq > ? ORDER BY seq"),
                                      arguments: [seq])
    }
}

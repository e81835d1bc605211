import GRDB

// MARK: - Keys

extension KeyQuery {
    /// The query as GRDB's query interface builds it: one `WHERE` term per field set.
    var request: QueryInterfaceRequest<KeyRecord> {
        var request = KeyRecord.all()
        if let id { request = request.filter(Column("id") == id) }
        if let provider { request = request.filter(Column("provider") == provider) }
        if let scope { request = request.filter(Column("scope") == scope) }
        if let states { request = request.filter(states.contains(Column("state"))) }
        if let env { request = request.filter(Column("env") == env) }
        if let fingerprint { request = request.filter(Column("fingerprint") == fingerprint) }
        if let retireAfterUpTo { request = request.filter(Column("retire_after") <= retireAfterUpTo) }
        switch order {
        case .unspecified: return request
        case .provider: return request.order(Column("provider"))
        case .createdAt: return request.order(Column("created_at"))
        case .providerCreatedAt: return request.order(Column("provider"), Column("created_at"))
        case .providerScopeCreatedAt: return request.order(Column("provider"), Column("scope"), Column("created_at"))
        case .retireAfter: return request.order(Column("retire_after"))
        }
    }
}

extension SQLiteTransaction {
    func key(id: String) throws -> KeyRecord? { try KeyRecord.fetchOne(db, key: id) }
    func countKeys(_ query: KeyQuery) throws -> Int { try query.request.fetchCount(db) }

    func keyCountsByProvider() throws -> [String: Int] {
        let rows = try Row.fetchAll(db, sql: "SELECT provider, COUNT(*) AS n FROM keys GROUP BY provider")
        return Dictionary(uniqueKeysWithValues: rows.map { (row: Row) in (row["provider"] as String, row["n"] as Int) })
    }

    func activePools() throws -> [Pool] {
        try Row.fetchAll(db, sql: "SELECT DISTINCT provider, scope FROM keys WHERE state = 'active' ORDER BY provider, scope")
            .map { Pool(provider: $0["provider"], scope: $0["scope"]) }
    }

    func insert(_ key: KeyRecord) throws { try key.insert(db) }
    func update(_ key: KeyRecord) throws { try key.update(db) }
    func delete(_ key: KeyRecord) throws { _ = try key.delete(db) }

    func recordCheck(keyID: String, outcome: ValidationOutcome, at time: Timestamp, detail: String) throws {
        // Cached: `validate` runs it once per key in one transaction.
        try db.cachedStatement(sql: "UPDATE keys SET last_outcome = ?, last_checked_at = ?, last_detail = ? WHERE id = ?")
            .execute(arguments: [outcome, time, detail, keyID])
    }
}

// MARK: - Config entries

extension SQLiteTransaction {
    private func configRequest(scope: String, name: String) -> QueryInterfaceRequest<ConfigEntryRecord> {
        ConfigEntryRecord.filter(Column("scope") == scope && Column("name") == name)
    }

    func configEntry(scope: String, name: String) throws -> ConfigEntryRecord? { try configRequest(scope: scope, name: name).fetchOne(db) }
    func configEntryExists(scope: String, name: String) throws -> Bool { try configRequest(scope: scope, name: name).fetchCount(db) > 0 }

    func countConfigEntries(scope: String) throws -> Int { try ConfigEntryRecord.filter(Column("scope") == scope).fetchCount(db) }

    func save(_ entry: ConfigEntryRecord) throws { try entry.save(db) }
    func delete(_ entry: ConfigEntryRecord) throws { _ = try entry.delete(db) }
}

import GRDB

extension Vault {
    /// Creates a scope, optionally inheriting from `parent`.
    public func addScope(_ name: String, parent: String?) throws(KeywardenError) -> ScopeInfo {
        try Names.require(Names.isScope(name), "scope", name, Names.scopeRule)
        return try write { db in
            if try ScopeRecord.exists(db, key: name) { throw KeywardenError(.conflict, "scope '\(name)' already exists") }
            if let parent, try !ScopeRecord.exists(db, key: parent) { throw KeywardenError.unknownScope(parent) }
            let record = ScopeRecord(name: name, parent: parent, createdAt: now)
            try record.insert(db)
            try appendAudit(AuditDraft(action: "scope.add", scope: name, outcome: "ok", detail: parent.map { "parent \($0)" }), db)
            return ScopeInfo(name: name, parent: parent, keys: 0, config: 0, createdAt: context.clock())
        }
    }

    /// All scopes with their counts.
    public func listScopes() throws(KeywardenError) -> [ScopeInfo] {
        try read { db in
            try ScopeRecord.order(Column("name")).fetchAll(db).map { record in
                ScopeInfo(
                    name: record.name, parent: record.parent,
                    keys: try KeyRecord.filter(Column("scope") == record.name).fetchCount(db),
                    config: try ConfigEntryRecord.filter(Column("scope") == record.name).fetchCount(db),
                    createdAt: Timestamp(iso8601: record.createdAt) ?? Timestamp(millisecondsSince1970: 0))
            }
        }
    }

    /// Removes an empty scope; refuses one that still holds keys, config or children.
    public func removeScope(_ name: String) throws(KeywardenError) {
        try write { db in
            guard let record = try ScopeRecord.fetchOne(db, key: name) else { throw KeywardenError.unknownScope(name) }
            let keys = try KeyRecord.filter(Column("scope") == name).fetchCount(db)
            let config = try ConfigEntryRecord.filter(Column("scope") == name).fetchCount(db)
            let children = try ScopeRecord.filter(Column("parent") == name).fetchAll(db).map(\.name)
            guard keys == 0, config == 0, children.isEmpty else {
                var parts: [String] = []
                if keys > 0 { parts.append("\(keys) key(s)") }
                if config > 0 { parts.append("\(config) config entr\(config == 1 ? "y" : "ies")") }
                if !children.isEmpty { parts.append("child scope(s) \(children.joined(separator: ", "))") }
                throw KeywardenError(.conflict, "scope '\(name)' still holds \(parts.joined(separator: " and ")); remove them first")
            }
            _ = try record.delete(db)
            try appendAudit(AuditDraft(action: "scope.remove", scope: name, outcome: "ok"), db)
        }
    }

    /// The scope and its ancestors, nearest first; `.notFound` if it does not exist.
    func scopeChain(_ scope: String, _ db: Database) throws -> [String] {
        var chain: [String] = []
        var next: String? = scope
        while let name = next {
            guard let record = try ScopeRecord.fetchOne(db, key: name) else { throw KeywardenError.unknownScope(name) }
            guard !chain.contains(name) else { break }
            chain.append(name)
            next = record.parent
        }
        return chain
    }
}

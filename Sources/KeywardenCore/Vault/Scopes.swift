extension Vault {
    /// Creates a scope, optionally inheriting from `parent`.
    public func addScope(_ name: String, parent: String?) throws(KeywardenError) -> ScopeInfo {
        try Names.require(Names.isScope(name), "scope", name, Names.scopeRule)
        return try write { tx in
            if try tx.scopeExists(name) { throw KeywardenError(.conflict, "scope '\(name)' already exists") }
            if let parent, try !tx.scopeExists(parent) { throw KeywardenError.unknownScope(parent) }
            let record = ScopeRecord(name: name, parent: parent, createdAt: now)
            try tx.insert(record)
            try appendAudit(AuditDraft(action: "scope.add", scope: name, outcome: "ok", detail: parent.map { "parent \($0)" }), tx)
            return ScopeInfo(name: name, parent: parent, keys: 0, config: 0, createdAt: record.createdAt)
        }
    }

    /// All scopes with their counts.
    public func listScopes() throws(KeywardenError) -> [ScopeInfo] {
        try read { tx in
            try tx.scopes().map { record in
                ScopeInfo(
                    name: record.name, parent: record.parent,
                    keys: try tx.countKeys(KeyQuery(scope: record.name)),
                    config: try tx.countConfigEntries(scope: record.name),
                    createdAt: record.createdAt)
            }
        }
    }

    /// Removes an empty scope; refuses one that still holds keys, config or children.
    public func removeScope(_ name: String) throws(KeywardenError) {
        try write { tx in
            guard let record = try tx.scope(named: name) else { throw KeywardenError.unknownScope(name) }
            let keys = try tx.countKeys(KeyQuery(scope: name))
            let config = try tx.countConfigEntries(scope: name)
            let children = try tx.childScopes(of: name).map(\.name)
            guard keys == 0, config == 0, children.isEmpty else {
                var parts: [String] = []
                if keys > 0 { parts.append("\(keys) key(s)") }
                if config > 0 { parts.append("\(config) config entr\(config == 1 ? "y" : "ies")") }
                if !children.isEmpty { parts.append("child scope(s) \(children.joined(separator: ", "))") }
                throw KeywardenError(.conflict, "scope '\(name)' still holds \(parts.joined(separator: " and ")); remove them first")
            }
            try tx.delete(record)
            try appendAudit(AuditDraft(action: "scope.remove", scope: name, outcome: "ok"), tx)
        }
    }

    /// The scope and its ancestors, nearest first; `.notFound` if it does not exist.
    func scopeChain(_ scope: String, _ tx: any StoreReading) throws -> [String] {
        var chain: [String] = []
        var next: String? = scope
        while let name = next {
            guard let record = try tx.scope(named: name) else { throw KeywardenError.unknownScope(name) }
            guard !chain.contains(name) else { break }
            chain.append(name)
            next = record.parent
        }
        return chain
    }
}

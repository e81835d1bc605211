/// Scopes and their parents.
protocol ScopeReading {
    func scope(named name: String) throws -> ScopeRecord?
    /// Whether the scope exists (its row is not read).
    func scopeExists(_ name: String) throws -> Bool
    /// Every scope, by name.
    func scopes() throws -> [ScopeRecord]
    /// The scopes whose parent is `parent`, by name.
    func childScopes(of parent: String) throws -> [ScopeRecord]
}

protocol ScopeWriting: ScopeReading {
    func insert(_ scope: ScopeRecord) throws
    func delete(_ scope: ScopeRecord) throws
}

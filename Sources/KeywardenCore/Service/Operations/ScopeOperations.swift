/// Operations on scopes (add, list, remove).
public enum Scopes {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Add.self, List.self, Remove.self]

    /// `scope add`: a new scope, optionally inheriting from a parent.
    public struct Add: ServiceOperation {
        public static let name = "scopes.add"
        public var name: String
        public var parent: String?

        public init(name: String, parent: String?) {
            (self.name, self.parent) = (name, parent)
        }

        public func run(in session: ServiceSession) async throws -> ScopeInfo {
            try await session.vault { vault in try vault.addScope(name, parent: parent) }
        }
    }

    /// `scope list`.
    public struct List: ServiceOperation {
        public static let name = "scopes.list"

        public init() {}

        public func run(in session: ServiceSession) async throws -> [ScopeInfo] {
            try await session.vault { vault in try vault.listScopes() }
        }
    }

    /// `scope rm`: only an empty scope.
    public struct Remove: ServiceOperation {
        public static let name = "scopes.remove"
        public var name: String

        public init(name: String) { self.name = name }

        public func run(in session: ServiceSession) async throws -> Done {
            try await session.vault { vault in
                try vault.removeScope(name)
                return Done()
            }
        }
    }
}

extension KeywardenService {
    public func addScope(_ name: String, parent: String?) async throws -> ScopeInfo { try await perform(Scopes.Add(name: name, parent: parent)) }
    public func listScopes() async throws -> [ScopeInfo] { try await perform(Scopes.List()) }
    public func removeScope(_ name: String) async throws { _ = try await perform(Scopes.Remove(name: name)) }
}

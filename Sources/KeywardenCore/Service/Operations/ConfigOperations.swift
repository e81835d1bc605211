/// Operations on config entries (set, get, list, unset).
public enum Config {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Set.self, Get.self, List.self, Unset.self]

    /// `config set`: stores a value (sealed, plain or secret). A secret value
    /// comes from stdin or a prompt, never argv.
    public struct Set: ServiceOperation {
        public static let name = "config.set"
        public var scope: String
        public var name: String
        public var value: Secret
        public var secret: Bool

        public init(scope: String, name: String, value: Secret, secret: Bool) {
            (self.scope, self.name, self.value, self.secret) = (scope, name, value, secret)
        }

        public func run(in session: ServiceSession) async throws -> ConfigSetResult {
            try await session.vault { vault in
                let (entry, created) = try vault.setConfig(scope: scope, name: name, value: value, secret: secret)
                return ConfigSetResult(entry: entry, created: created)
            }
        }
    }

    /// `config get`: an entry's value, from the scope or the nearest parent
    /// that has it; audited.
    public struct Get: ServiceOperation {
        public static let name = "config.get"
        public var scope: String
        public var name: String

        public init(scope: String, name: String) {
            (self.scope, self.name) = (scope, name)
        }

        public func run(in session: ServiceSession) async throws -> ConfigValue {
            try await session.vault { vault in
                let (entry, value) = try vault.getConfig(scope: scope, name: name)
                return ConfigValue(entry: entry, value: value)
            }
        }
    }

    /// `config list`: plain values shown, secret ones masked.
    public struct List: ServiceOperation {
        public static let name = "config.list"
        /// Only this scope and what it inherits; nil for every scope.
        public var scope: String?

        public init(scope: String?) { self.scope = scope }

        public func run(in session: ServiceSession) async throws -> [ConfigEntryInfo] {
            try await session.vault { vault in try vault.listConfig(scope: scope) }
        }
    }

    /// `config unset`.
    public struct Unset: ServiceOperation {
        public static let name = "config.unset"
        public var scope: String
        public var name: String

        public init(scope: String, name: String) {
            (self.scope, self.name) = (scope, name)
        }

        public func run(in session: ServiceSession) async throws -> Done {
            try await session.vault { vault in
                try vault.unsetConfig(scope: scope, name: name)
                return Done()
            }
        }
    }
}

/// What `config set` did: the entry as stored, and whether it is new.
public struct ConfigSetResult: Codable, Sendable {
    public var entry: ConfigEntryInfo
    public var created: Bool
}

/// A config entry with its value.
public struct ConfigValue: Codable, Sendable {
    public var entry: ConfigEntryInfo
    public var value: Secret
}

extension KeywardenService {
    public func setConfig(_ request: Config.Set) async throws -> ConfigSetResult { try await perform(request) }
    public func config(scope: String, name: String) async throws -> ConfigValue { try await perform(Config.Get(scope: scope, name: name)) }
    public func listConfig(scope: String?) async throws -> [ConfigEntryInfo] { try await perform(Config.List(scope: scope)) }
    public func unsetConfig(scope: String, name: String) async throws { _ = try await perform(Config.Unset(scope: scope, name: name)) }
}

import Foundation

/// Operations on agent tokens (create, list, revoke).
public enum Tokens {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Create.self, List.self, Revoke.self]

    /// How long a token lives unless told otherwise: a forgotten token should not work forever.
    public static let defaultTTL = "90d"

    /// `token create`: the answer holds the one and only copy of the token.
    public struct Create: ServiceOperation {
        public static let name = "tokens.create"
        public var name: String
        public var scopes: [String]
        /// Providers whose keys it may read; empty: all.
        public var providers: [String]
        /// Config entries it may read: names, `["*"]` for all; empty: none.
        public var config: [String]
        /// Lifetime in seconds; nil: until revoked.
        public var ttlSeconds: Int64?

        public init(name: String, scopes: [String], providers: [String], config: [String], ttlSeconds: Int64?) {
            (self.name, self.scopes, self.providers, self.config, self.ttlSeconds) = (name, scopes, providers, config, ttlSeconds)
        }

        /// From `token create`'s options: `config` as given (names, repeated
        /// or comma-separated, or `all`), `ttl` as a duration (default
        /// ``Tokens/defaultTTL``) unless `noExpiry`.
        public init(name: String, scopes: [String], providers: [String], configOptions: [String], ttl: String?, noExpiry: Bool) throws(KeywardenError) {
            if noExpiry, ttl != nil { throw KeywardenError(.invalidInput, "--ttl and --no-expiry exclude each other; pass one") }
            var seconds: Int64?
            if !noExpiry {
                let text = ttl ?? Tokens.defaultTTL
                guard let spec = DurationSpec(parsing: text), spec.seconds > 0 else {
                    throw KeywardenError(.invalidInput, "invalid --ttl '\(text)': use a duration like 12h or 30d")
                }
                seconds = spec.seconds
            }
            let names = configOptions.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
            let grant = names.contains { $0.lowercased() == "all" || $0 == "*" } ? ["*"] : names
            self.init(name: name, scopes: scopes, providers: providers, config: grant, ttlSeconds: seconds)
        }

        public func run(in session: ServiceSession) async throws -> CreatedToken {
            try await session.vault { vault in
                let (token, secret) = try vault.createToken(name: name, scopes: scopes, providers: providers, config: config,
                                                            ttl: ttlSeconds.map(DurationSpec.init(seconds:)))
                return CreatedToken(token: token, secret: secret)
            }
        }
    }

    /// `token list`: never the tokens themselves.
    public struct List: ServiceOperation {
        public static let name = "tokens.list"

        public init() {}

        public func run(in session: ServiceSession) async throws -> [AgentToken] {
            try await session.vault { vault in try vault.listTokens() }
        }
    }

    /// `token revoke`, by name or id.
    public struct Revoke: ServiceOperation {
        public static let name = "tokens.revoke"
        public var nameOrID: String

        public init(nameOrID: String) { self.nameOrID = nameOrID }

        public func run(in session: ServiceSession) async throws -> AgentToken {
            try await session.vault { vault in try vault.revokeToken(nameOrID) }
        }
    }
}

/// A new token and its secret, shown once; only a keyed hash is stored.
public struct CreatedToken: Codable, Sendable {
    public var token: AgentToken
    public var secret: Secret
}

extension KeywardenService {
    public func createToken(_ request: Tokens.Create) async throws -> CreatedToken { try await perform(request) }
    public func listTokens() async throws -> [AgentToken] { try await perform(Tokens.List()) }
    public func revokeToken(_ nameOrID: String) async throws -> AgentToken { try await perform(Tokens.Revoke(nameOrID: nameOrID)) }
}

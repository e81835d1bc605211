/// Operations on providers (list, show, add, set, remove).
public enum Providers {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [List.self, Show.self, Definition.self, Add.self, Set.self, Remove.self]

    /// `provider list`: built-ins first, then custom ones by name.
    public struct List: ServiceOperation {
        public static let name = "providers.list"

        public init() {}

        public func run(in session: ServiceSession) async throws -> [ProviderInfo] {
            try await session.vault { vault in try vault.providers() }
        }
    }

    /// `provider show`: one provider as listed.
    public struct Show: ServiceOperation {
        public static let name = "providers.show"
        public var name: String

        public init(name: String) { self.name = name }

        public func run(in session: ServiceSession) async throws -> ProviderInfo {
            let providers = try await session.vault { vault in try vault.providers() }
            guard let info = providers.first(where: { $0.definition.name == name }) else {
                throw KeywardenError(.notFound, "unknown provider '\(name)'; see `keywarden provider list`")
            }
            return info
        }
    }

    /// One provider's effective definition (`key add` names it in its prompt),
    /// or a `.notFound` error that says how to define it.
    public struct Definition: ServiceOperation {
        public static let name = "providers.definition"
        public var name: String

        public init(name: String) { self.name = name }

        public func run(in session: ServiceSession) async throws -> TransportedProvider {
            try await session.vault { vault in TransportedProvider(try vault.provider(named: name)) }
        }
    }

    /// `provider add`: defines a custom provider.
    public struct Add: ServiceOperation {
        public static let name = "providers.add"
        public var provider: TransportedProvider

        public init(_ definition: ProviderDefinition) { provider = TransportedProvider(definition) }

        public func run(in session: ServiceSession) async throws -> Done {
            try await session.vault { vault in
                try vault.addProvider(provider.definition)
                return Done()
            }
        }
    }

    /// `provider set`: a provider's base URL or default variable.
    public struct Set: ServiceOperation {
        public static let name = "providers.set"
        public var name: String
        public var baseURL: String?
        public var env: String?
        /// Back to the built-in base URL.
        public var resetBaseURL: Bool
        /// Accept a plain `http://` `baseURL` to a host that is not loopback.
        public var allowInsecureHTTP: Bool

        public init(name: String, baseURL: String?, env: String?, resetBaseURL: Bool, allowInsecureHTTP: Bool) {
            (self.name, self.baseURL, self.env, self.resetBaseURL, self.allowInsecureHTTP) = (name, baseURL, env, resetBaseURL, allowInsecureHTTP)
        }

        public func run(in session: ServiceSession) async throws -> TransportedProvider {
            try await session.vault { vault in
                TransportedProvider(try vault.updateProvider(name, baseURL: baseURL, env: env, resetBaseURL: resetBaseURL, allowInsecureHTTP: allowInsecureHTTP))
            }
        }
    }

    /// `provider rm`: a custom provider without keys.
    public struct Remove: ServiceOperation {
        public static let name = "providers.remove"
        public var name: String

        public init(name: String) { self.name = name }

        public func run(in session: ServiceSession) async throws -> Done {
            try await session.vault { vault in
                try vault.removeProvider(name)
                return Done()
            }
        }
    }
}

/// A ``ProviderDefinition`` as the API carries it. The definition's own JSON
/// is the form stored in the vault, which leaves `allowInsecureHTTP` out (the
/// flag lives in the provider's row, under its MAC); between the CLI and the
/// agent it travels beside it, so `provider add`, `set` and `show` mean the
/// same through the agent as in-process.
public struct TransportedProvider: Codable, Sendable, Equatable {
    public var definition: ProviderDefinition

    public init(_ definition: ProviderDefinition) { self.definition = definition }

    enum CodingKeys: String, CodingKey { case definition, allowInsecureHTTP = "allow_insecure_http" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        definition = try container.decode(ProviderDefinition.self, forKey: .definition)
        definition.allowInsecureHTTP = try container.decode(Bool.self, forKey: .allowInsecureHTTP)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(definition, forKey: .definition)
        try container.encode(definition.allowInsecureHTTP, forKey: .allowInsecureHTTP)
    }
}

/// ``ProviderInfo`` on the agent's socket: its definition's
/// `allowInsecureHTTP` travels beside it (see ``TransportedProvider``).
extension ProviderInfo {
    enum CodingKeys: String, CodingKey { case definition, allowInsecureHTTP = "allow_insecure_http", source, keys }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        definition = try container.decode(ProviderDefinition.self, forKey: .definition)
        definition.allowInsecureHTTP = try container.decode(Bool.self, forKey: .allowInsecureHTTP)
        source = try container.decode(String.self, forKey: .source)
        keys = try container.decode(Int.self, forKey: .keys)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(definition, forKey: .definition)
        try container.encode(definition.allowInsecureHTTP, forKey: .allowInsecureHTTP)
        try container.encode(source, forKey: .source)
        try container.encode(keys, forKey: .keys)
    }
}

extension Providers.Add {
    /// A custom provider from `provider add`'s options. Everything is checked
    /// here, before the vault is asked: `auth` is `bearer`, `header:NAME` or
    /// `query:NAME`; each header `NAME:VALUE`; the probe path starts with `/`;
    /// the probe method is GET or POST. Without `keyPattern`, literal
    /// `keyPrefixes` make the pattern.
    public static func custom(
        name: String, displayName: String?, baseURL: String, env: String, auth: String, headers: [String],
        keyPattern: String?, keyPrefixes: [String], probePath: String?, probeMethod: String, allowInsecureHTTP: Bool
    ) throws(KeywardenError) -> Providers.Add {
        let placement = try placement(parsing: auth)
        var headerValues: [String: String] = [:]
        for item in headers {
            guard let colon = item.firstIndex(of: ":"), colon != item.startIndex else {
                throw KeywardenError(.invalidInput, "invalid --header '\(item)': expected NAME:VALUE")
            }
            headerValues[String(item[..<colon])] = String(item[item.index(after: colon)...]).trimmingPrefix(" ").description
        }
        if let probePath, !probePath.hasPrefix("/") {
            throw KeywardenError(.invalidInput, "invalid --probe-path '\(probePath)': it must start with '/'")
        }
        guard ["GET", "POST"].contains(probeMethod.uppercased()) else {
            throw KeywardenError(.invalidInput, "invalid --probe-method '\(probeMethod)': use GET or POST")
        }
        var format: KeyFormat?
        if keyPattern != nil || !keyPrefixes.isEmpty {
            let pattern = keyPattern ?? ("(?:" + keyPrefixes.map(escapedForRegex).joined(separator: "|") + ")" + ".+")
            format = KeyFormat(pattern: pattern, prefixes: keyPrefixes,
                               description: keyPattern.map { "matching \($0)" } ?? "starting with \(keyPrefixes.joined(separator: " or "))")
        }
        var definition = ProviderDefinition(
            name: name, displayName: displayName ?? name, baseURL: baseURL, auth: placement, headers: headerValues, env: env,
            keyFormat: format, probe: probePath.map { Probe(method: probeMethod.uppercased(), path: $0) })
        definition.allowInsecureHTTP = allowInsecureHTTP
        return Providers.Add(definition)
    }

    /// `bearer`, `header:NAME` or `query:NAME`.
    public static func placement(parsing text: String) throws(KeywardenError) -> KeyPlacement {
        if text == "bearer" { return .bearer }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        if parts.count == 2, !parts[1].isEmpty, parts[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            switch parts[0] {
            case "header": return .header(parts[1])
            case "query": return .query(parts[1])
            default: break
            }
        }
        throw KeywardenError(.invalidInput, "invalid --auth '\(text)': use bearer, header:NAME or query:NAME")
    }

    /// Literal text inside a regular expression.
    static func escapedForRegex(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\^$.|?*+()[]{}/".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }
}

extension KeywardenService {
    public func providers() async throws -> [ProviderInfo] { try await perform(Providers.List()) }
    public func provider(_ name: String) async throws -> ProviderInfo { try await perform(Providers.Show(name: name)) }
    public func providerDefinition(named name: String) async throws -> ProviderDefinition { try await perform(Providers.Definition(name: name)).definition }
    public func addProvider(_ request: Providers.Add) async throws { _ = try await perform(request) }
    public func updateProvider(_ request: Providers.Set) async throws -> ProviderDefinition { try await perform(request).definition }
    public func removeProvider(_ name: String) async throws { _ = try await perform(Providers.Remove(name: name)) }
}

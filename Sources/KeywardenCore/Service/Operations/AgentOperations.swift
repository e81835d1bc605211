import Foundation

/// Operations on the agent itself (lock, gateway tokens).
public enum AgentControl {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Lock.self, GatewayToken.self]

    /// `lock`: the agent wipes the master key, stops serving, and restarts
    /// without the vault. Only an agent can be locked: in-process there is
    /// nothing to lock, and the vault closes with the command anyway.
    public struct Lock: ServiceOperation {
        public static let name = "agent.lock"

        public init() {}

        public func run(in session: ServiceSession) async throws -> Done {
            guard let agent = session.agent else {
                throw KeywardenError(.notFound, "no agent is running here, so there is nothing to lock; `keywarden lock` locks the agent that `keywarden serve` started")
            }
            await agent.lock()
            return Done()
        }
    }

    /// `run --gateway`: a short-lived, gateway-only token for the calling
    /// process, and the environment that sends a program's SDKs through the
    /// gateway with it instead of provider keys. The agent keeps the token in
    /// memory, bound to the caller's pid, and drops it when that process
    /// exits (`run` execs the command, so the pid is the command's).
    public struct GatewayToken: ServiceOperation {
        public static let name = "agent.gateway-token"
        /// Without `ttl`, the token lasts this long at most.
        public static let defaultTTL = DurationSpec(seconds: 12 * 3600)
        /// The longest a run token may live; its process usually ends first.
        public static let ttlRange: ClosedRange<Int64> = 1...(30 * 86400)

        public var scope: String
        /// Only these providers (each must have an active key in `scope`);
        /// nil for every provider with one.
        public var providers: [String]?
        public var ttl: DurationSpec?
        /// The program `run` is about to become, for the token's name and the audit trail.
        public var program: String?

        public init(scope: String, providers: [String]? = nil, ttl: DurationSpec? = nil, program: String? = nil) {
            (self.scope, self.providers, self.ttl, self.program) = (scope, providers, ttl, program)
        }

        /// The token and what the program's environment gets and loses.
        public struct Response: Codable, Sendable {
            public var token: Secret
            /// The gateway's loopback URL (`http://127.0.0.1:PORT`).
            public var gatewayURL: String
            /// Each provider's key variable (set to the token) and base-URL
            /// variable, `KEYWARDEN_GATEWAY_URL`, and the scope's config entries.
            public var variables: [String: Secret]
            /// Variables to remove from the program's environment: every
            /// provider key variable the answer does not set.
            public var unset: [String]

            enum CodingKeys: String, CodingKey { case token, gatewayURL = "gateway_url", variables, unset }

            public init(token: Secret, gatewayURL: String, variables: [String: Secret], unset: [String]) {
                (self.token, self.gatewayURL, self.variables, self.unset) = (token, gatewayURL, variables, unset)
            }
        }

        public func run(in session: ServiceSession) async throws -> Response {
            guard let agent = session.agent else { throw KeywardenError.gatewayNeedsAgent }
            guard let mint = agent.mintGatewayToken else { throw KeywardenError.gatewayOff }
            let ttl = self.ttl ?? Self.defaultTTL
            guard Self.ttlRange.contains(ttl.seconds) else {
                throw KeywardenError(.invalidInput, "invalid --ttl '\(ttl)': use a duration from 1s to 30d, like 30m, 12h or 7d")
            }
            try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule)
            if let providers {
                guard !providers.isEmpty else { throw KeywardenError(.invalidInput, "--only needs at least one provider name") }
                for provider in providers { try Names.require(Names.isProvider(provider), "provider name", provider, Names.providerRule) }
            }
            let program = Self.printable(program ?? "command")
            // Names only: no key is decrypted, and none leaves the agent.
            let plan = try await session.vault { vault in try GatewayRunPlan(vault: vault, scope: scope, only: providers) }
            let minted = try await mint(GatewayTokenGrant(scope: scope, providers: plan.providers.map(\.name), ttl: .seconds(ttl.seconds), program: program))
            var variables = plan.gatewayVariables(token: minted.token, gatewayURL: minted.gatewayURL)
            // The scope's config entries, delivered and audited as `run` does.
            let configNames = plan.configNames.filter { variables[$0] == nil }
            let config = try await session.vault { vault in
                let config = configNames.isEmpty ? [] : try vault.resolveEnvironment(scope: scope, only: configNames)
                try vault.recordDelivery(config, action: Delivery.Action.run.rawValue, scope: scope, destination: "command \(program) (through the gateway)")
                return config
            }
            for entry in config { variables[entry.name] = entry.value }
            let unset = plan.keyVariables.subtracting(variables.keys).sorted()
            return Response(token: minted.token, gatewayURL: minted.gatewayURL, variables: variables, unset: unset)
        }

        /// One short printable line: the program name is the client's word.
        static func printable(_ text: String) -> String {
            let kept = String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(64).map(Character.init))
            return kept.isEmpty ? "command" : kept
        }
    }
}

/// What the agent mints for `run --gateway`, as ``AgentControl/GatewayToken``
/// decided it; the agent adds who it is for (the caller's pid).
public struct GatewayTokenGrant: Sendable, Equatable {
    public var scope: String
    /// Never empty: a token with no providers would allow them all.
    public var providers: [String]
    public var ttl: Duration
    /// The program's name (not its arguments), for the token's name.
    public var program: String

    public init(scope: String, providers: [String], ttl: Duration, program: String) {
        (self.scope, self.providers, self.ttl, self.program) = (scope, providers, ttl, program)
    }
}

/// A run token the agent minted, and where its gateway listens.
public struct MintedGatewayToken: Sendable {
    public var token: Secret
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    public var gatewayURL: String

    public init(token: Secret, gatewayURL: String) {
        (self.token, self.gatewayURL) = (token, gatewayURL)
    }
}

/// Which providers `run --gateway` routes through the gateway, and which of
/// the scope's variables stay as they are: read from names, ids and
/// definitions only.
struct GatewayRunPlan: Sendable {
    /// The providers with an active key in the scope (or its parents), narrowed by `--only`.
    var providers: [ProviderDefinition]
    /// The scope's config entries, minus any named like a provider's key
    /// variable: the gateway's promise is that no provider key is in the
    /// program's environment, whichever way it was stored.
    var configNames: [String]
    /// Every provider's key variables (built-in and custom, `env` and
    /// `alternateEnv`), and `ANTHROPIC_AUTH_TOKEN`, which the Anthropic SDK
    /// sends as a bearer token.
    var keyVariables: Set<String>

    init(vault: Vault, scope: String, only: [String]?) throws(KeywardenError) {
        let definitions = try vault.providers().map(\.definition)
        let keyVariables = Set(definitions.flatMap { [$0.env] + $0.alternateEnv } + ["ANTHROPIC_AUTH_TOKEN"])
        self.keyVariables = keyVariables
        var keyed: [String] = []
        var config: [String] = []
        for variable in try vault.resolveEnvironment(scope: scope, decrypt: false) {
            switch variable.origin {
            case .key(_, let provider, _): keyed.append(provider)
            case .config: config.append(variable.name)
            }
        }
        if let only {
            if let missing = only.first(where: { !keyed.contains($0) }) {
                throw KeywardenError(.notFound, "\(missing) has no active key in scope \(scope) or its parents, so the gateway has nothing to send for it; see `keywarden key list --scope \(scope)`")
            }
            keyed = keyed.filter(only.contains)
        }
        guard !keyed.isEmpty else {
            throw KeywardenError(.notFound, "scope \(scope) and its parents have no active key, so the gateway has nothing to send; add one with `keywarden key add PROVIDER --scope \(scope)`")
        }
        providers = keyed.compactMap { name in definitions.first { $0.name == name } }
        configNames = config.filter { !keyVariables.contains($0) }
    }

    /// For each provider: its key variable holding the token, and its SDK's
    /// base-URL variable (or `KEYWARDEN_GATEWAY_<PROVIDER>`) pointing at the
    /// gateway; and `KEYWARDEN_GATEWAY_URL`.
    func gatewayVariables(token: Secret, gatewayURL: String) -> [String: Secret] {
        var variables: [String: Secret] = ["KEYWARDEN_GATEWAY_URL": Secrets.secret(copying: Array(gatewayURL.utf8))]
        for provider in providers {
            variables[provider.env] = token
            let url = gatewayURL + "/" + provider.name + (provider.sdkBasePath ?? "")
            variables[Self.baseURLVariable(provider)] = Secrets.secret(copying: Array(url.utf8))
        }
        return variables
    }

    /// The SDK's own variable, else `KEYWARDEN_GATEWAY_<NAME>` (`-` as `_`).
    static func baseURLVariable(_ provider: ProviderDefinition) -> String {
        provider.sdkBaseURLEnv ?? "KEYWARDEN_GATEWAY_" + provider.name.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }
}

extension KeywardenError {
    /// `run --gateway` in-process: only the agent holds run tokens and the gateway.
    public static let gatewayNeedsAgent = KeywardenError(.invalidInput, "run --gateway needs the agent: start it with `keywarden serve --gateway`")
    /// The agent was started without `--gateway`.
    public static let gatewayOff = KeywardenError(.conflict, "the agent runs without --gateway; restart it with `keywarden serve --gateway` to use run --gateway")
}

extension KeywardenService {
    /// Locks the agent that serves this API.
    public func lockAgent() async throws { _ = try await perform(AgentControl.Lock()) }

    /// A run token for `run --gateway` and the environment that goes with it.
    public func gatewayToken(scope: String, providers: [String]?, ttl: DurationSpec?, program: String) async throws -> AgentControl.GatewayToken.Response {
        try await perform(AgentControl.GatewayToken(scope: scope, providers: providers, ttl: ttl, program: program))
    }
}

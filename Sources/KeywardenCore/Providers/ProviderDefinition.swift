/// Everything Keywarden knows about one API provider: where it lives, how a key
/// is sent, what a key looks like, and (for validation) the cheapest request
/// that proves a key works. Built-ins live in `Builtin/`, one file each (listed
/// in `BuiltinProviders`); user-defined providers are stored in the vault as
/// this same structure in JSON.
public struct ProviderDefinition: Codable, Sendable, Equatable {
    /// Lower-case identifier used on the command line (`anthropic`, `zhipu`).
    public var name: String
    /// Human name (`Anthropic`, `Zhipu AI (GLM)`).
    public var displayName: String
    /// Scheme, host and optional path prefix, without a trailing slash
    /// (`https://api.anthropic.com`, `https://open.bigmodel.cn/api/paas/v4`).
    public var baseURL: String
    /// How the key travels in a request.
    public var auth: KeyPlacement
    /// Extra headers every request needs (`anthropic-version: 2023-06-01`).
    public var headers: [String: String]
    /// The environment variable programs read the key from (`ANTHROPIC_API_KEY`).
    public var env: String
    /// Other variable names that hold this provider's key in the wild; `import`
    /// recognises them (`CLAUDE_API_KEY`, `GOOGLE_API_KEY`).
    public var alternateEnv: [String]
    /// What a key looks like, where known.
    public var keyFormat: KeyFormat?
    /// The request that checks a key without spending tokens.
    public var probe: Probe?
    /// Where the user manages keys (shown in fixes: "create a new key at …").
    public var consoleURL: String?
    /// How to read the probe's answers; nil for built-ins (their rules are in
    /// their `BuiltinProvider`). User-defined providers declare them here.
    public var rules: [OutcomeRule]?
    /// The user allowed a plain `http://` base URL to a host that is not
    /// loopback (`--allow-insecure-http`). Stored in the provider's row
    /// (`allow_insecure_http`), not in this JSON, so one flag covers
    /// built-ins and custom providers alike.
    public var allowInsecureHTTP = false
    /// The variable the provider's official SDK reads its base URL from
    /// (`ANTHROPIC_BASE_URL`), which `run --gateway` points at the gateway;
    /// nil when no SDK variable is documented (the gateway URL then goes to
    /// `KEYWARDEN_GATEWAY_<PROVIDER>`, for the user to pass as `base_url`).
    public var sdkBaseURLEnv: String?
    /// The path the SDK expects after its base URL (`/v1` for OpenAI's,
    /// whose default base URL is `https://api.openai.com/v1`); nil for none.
    public var sdkBasePath: String?
    /// Where the provider tells a key's balance without spending tokens
    /// (`validate` records it); nil when it does not.
    public var balance: BalanceProbe?

    // `sdkBaseURLEnv` and `sdkBasePath` are optional, so nil is not written
    // (synthesized `encodeIfPresent`): a custom provider's stored JSON, which
    // its row MAC covers, is byte for byte what it was before they existed.
    enum CodingKeys: String, CodingKey {
        case name, displayName, baseURL, auth, headers, env, alternateEnv, keyFormat, probe, consoleURL, rules, sdkBaseURLEnv, sdkBasePath, balance
    }

    public init(
        name: String, displayName: String, baseURL: String, auth: KeyPlacement,
        headers: [String: String] = [:], env: String, alternateEnv: [String] = [],
        keyFormat: KeyFormat? = nil, probe: Probe? = nil, consoleURL: String? = nil, rules: [OutcomeRule]? = nil,
        sdkBaseURLEnv: String? = nil, sdkBasePath: String? = nil, balance: BalanceProbe? = nil
    ) {
        self.name = name
        self.displayName = displayName
        self.baseURL = baseURL
        self.auth = auth
        self.headers = headers
        self.env = env
        self.alternateEnv = alternateEnv
        self.keyFormat = keyFormat
        self.probe = probe
        self.consoleURL = consoleURL
        self.rules = rules
        self.sdkBaseURLEnv = sdkBaseURLEnv
        self.sdkBasePath = sdkBasePath
        self.balance = balance
    }
}

/// How a key is attached to a request.
public struct KeyPlacement: Codable, Sendable, Equatable {
    public enum Style: String, Codable, Sendable {
        /// `Authorization: Bearer <key>`
        case bearer
        /// `<name>: <key>` (`x-api-key`, `api-key`, `x-goog-api-key`)
        case header
        /// `?<name>=<key>` in the query string (discouraged: URLs get logged)
        case query
    }

    public var style: Style
    /// Header or query parameter name; nil for `bearer`.
    public var name: String?

    public init(style: Style, name: String? = nil) {
        self.style = style
        self.name = name
    }

    public static let bearer = KeyPlacement(style: .bearer)
    public static func header(_ name: String) -> KeyPlacement { KeyPlacement(style: .header, name: name) }
    public static func query(_ name: String) -> KeyPlacement { KeyPlacement(style: .query, name: name) }

    /// `Authorization: Bearer`, `header x-api-key`, `query key`.
    public var summary: String {
        switch style {
        case .bearer: "Authorization: Bearer"
        case .header: "header \(name ?? "?")"
        case .query: "query parameter \(name ?? "?")"
        }
    }
}

/// The shape of a provider's keys.
public struct KeyFormat: Codable, Sendable, Equatable {
    /// A regular expression the whole key must match (anchored when used).
    public var pattern: String
    /// Literal prefixes that identify the provider (`sk-ant-`); used for hints
    /// and to recognise keys on import. Most specific first.
    public var prefixes: [String]
    /// A human description for warnings ("sk-ant-api03-… followed by 95 characters").
    public var description: String

    public init(pattern: String, prefixes: [String], description: String) {
        self.pattern = pattern
        self.prefixes = prefixes
        self.description = description
    }
}

/// The cheapest authenticated request for a provider.
public struct Probe: Codable, Sendable, Equatable {
    /// `GET` or `POST`.
    public var method: String
    /// Path (and query) appended to the base URL (`/v1/models`).
    public var path: String
    /// JSON body for `POST` probes.
    public var body: String?

    public init(method: String = "GET", path: String, body: String? = nil) {
        self.method = method
        self.path = path
        self.body = body
    }
}

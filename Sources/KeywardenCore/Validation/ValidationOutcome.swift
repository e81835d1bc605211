/// The stable answer to "does this key work?". Status codes alone lie
/// (Anthropic says "no credit" with 400, OpenAI "missing scope" with 401,
/// Gemini "bad key" with 400, Zhipu "arrears" with 429), so outcomes come from
/// rules that read the body too.
public enum ValidationOutcome: String, Codable, Sendable, CaseIterable {
    /// The provider accepted the key.
    case valid
    /// The key is wrong, revoked or disabled.
    case invalid
    /// The key is real but lacks permission (scope, region, model, org policy).
    case forbidden
    /// The account has no credit or quota left, or is suspended for billing.
    case noCredit = "no_credit"
    /// Too many requests right now.
    case rateLimited = "rate_limited"
    /// The provider failed (5xx, overloaded).
    case providerError = "provider_error"
    /// The host name did not resolve.
    case dnsError = "dns_error"
    /// No TCP connection (refused, unreachable, reset).
    case connectError = "connect_error"
    /// The TLS handshake or certificate verification failed.
    case tlsError = "tls_error"
    /// No answer within the time limit.
    case timeout
    /// The proxy refused or failed the connection.
    case proxyError = "proxy_error"
    /// An answer no rule explains (a redirect, a 404 from a wrong base URL, HTML from a captive portal).
    case unexpected

    /// Worth retrying after a pause: the same request may succeed later.
    public var isTransient: Bool {
        switch self {
        case .rateLimited, .providerError, .timeout, .connectError: true
        default: false
        }
    }

    /// Says the key itself failed authentication (what `audit --failed-auth` lists).
    public var isAuthFailure: Bool { self == .invalid || self == .forbidden }
    /// The key cannot serve (refused, or out of credit): an active key found
    /// so, by a check or a client's report, fails over to a standby where the
    /// pool's policy says so.
    public var callsForFailover: Bool { isAuthFailure || self == .noCredit }

    /// What the outcome says about the key: it works, it does not, or the
    /// check never got a verdict on it (the network, the provider or the
    /// configuration stood in the way).
    public var verdict: KeyVerdict {
        switch self {
        case .valid: .valid
        case .invalid, .forbidden, .noCredit: .notValid
        case .rateLimited, .providerError, .dnsError, .connectError, .tlsError, .timeout, .proxyError, .unexpected: .notChecked
        }
    }
}

/// How a check counts in `validate`'s summary and exit code.
public enum KeyVerdict: String, Codable, Sendable {
    /// The provider accepted the key.
    case valid
    /// The provider answered about the key, and the key does not work (exit 5).
    case notValid = "not_valid"
    /// No answer about the key: DNS, connection, TLS, proxy, time limit, a
    /// failing or rate-limiting provider, an answer no rule explains (exit 6).
    case notChecked = "not_checked"
}

/// One rule of a provider's classification: when the status and body match,
/// the answer means `outcome`. Rules are checked in order; the first match
/// wins; generic rules by status alone come last. User-defined providers
/// declare rules in this same form (JSON).
public struct OutcomeRule: Codable, Sendable, Equatable {
    /// Status codes the rule applies to; empty means any.
    public var status: [Int]
    /// Substrings that must all appear in the body (case-insensitive).
    public var bodyContains: [String]
    /// Values in the JSON body that must all match.
    public var json: [JSONMatch]
    public var outcome: ValidationOutcome
    /// One line for the user: what the answer means.
    public var reason: String
    /// What to do about it.
    public var fix: String?

    public init(status: [Int] = [], bodyContains: [String] = [], json: [JSONMatch] = [], outcome: ValidationOutcome, reason: String, fix: String? = nil) {
        self.status = status
        self.bodyContains = bodyContains
        self.json = json
        self.outcome = outcome
        self.reason = reason
        self.fix = fix
    }

    enum CodingKeys: String, CodingKey {
        case status, bodyContains = "body_contains", json, outcome, reason, fix
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decodeIfPresent([Int].self, forKey: .status) ?? []
        bodyContains = try c.decodeIfPresent([String].self, forKey: .bodyContains) ?? []
        json = try c.decodeIfPresent([JSONMatch].self, forKey: .json) ?? []
        outcome = try c.decode(ValidationOutcome.self, forKey: .outcome)
        reason = try c.decode(String.self, forKey: .reason)
        fix = try c.decodeIfPresent(String.self, forKey: .fix)
    }
}

/// A value in a JSON body: `path` is dot-separated (`error.code`), `*` matches
/// every element of an array (`error.details.*.reason`). Numbers and booleans
/// compare by their JSON text (`1113`, `false`); `equals: nil` only requires
/// the path to exist. `contains` asks for a case-insensitive substring of
/// the value instead (`"contains": "quota"` in `error.message`).
public struct JSONMatch: Codable, Sendable, Equatable {
    public var path: String
    public var equals: String?
    /// Not written when nil, so rules stored before it existed encode as they did.
    public var contains: String?

    public init(_ path: String, equals: String? = nil, contains: String? = nil) {
        self.path = path
        self.equals = equals
        self.contains = contains
    }
}

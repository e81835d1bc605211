import Foundation

/// What a key's provider last said it has left to spend, read from the
/// provider's balance endpoint without spending tokens (`validate`).
public struct KeyBalance: Codable, Sendable, Equatable {
    /// The amount as the provider wrote it (`"110.00"`, `74.5`, `-0.07`),
    /// kept as decimal text so no rounding creeps in.
    public var amount: String
    /// ISO 4217 code (`CNY`, `USD`) when the answer or the provider's
    /// documentation says which.
    public var currency: String?
    public var checkedAt: Timestamp

    enum CodingKeys: String, CodingKey { case amount, currency, checkedAt = "checked_at" }

    public init(amount: String, currency: String?, checkedAt: Timestamp) {
        self.amount = amount
        self.currency = currency
        self.checkedAt = checkedAt
    }

    /// The amount as a number, for comparisons and `/metrics`.
    public var value: Double? { Double(amount) }

    /// `110.00 CNY`.
    public var display: String { currency.map { "\(amount) \($0)" } ?? amount }
}

/// A key's rate-limit headroom, from the headers of the last answer that
/// carried any: OpenAI/Groq `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`,
/// OpenRouter `x-ratelimit-{limit,remaining,reset}`, Anthropic
/// `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`.
public struct RateLimitHeadroom: Codable, Sendable, Equatable {
    /// One limit: `requests`, `tokens`, `input-tokens`, `output-tokens`.
    public struct Limit: Codable, Sendable, Equatable {
        public var name: String
        public var limit: Int64?
        public var remaining: Int64?
        /// As the provider wrote it (`6m0s`, `2026-11-30T01:00:00Z`, epoch ms).
        public var reset: String?

        public init(name: String, limit: Int64? = nil, remaining: Int64? = nil, reset: String? = nil) {
            (self.name, self.limit, self.remaining, self.reset) = (name, limit, remaining, reset)
        }
    }

    public var limits: [Limit]
    public var seenAt: Timestamp
    /// Who saw the headers: `validate` or `gateway`.
    public var source: String

    enum CodingKeys: String, CodingKey { case limits, seenAt = "seen_at", source }

    public init(limits: [Limit], seenAt: Timestamp, source: String) {
        self.limits = limits
        self.seenAt = seenAt
        self.source = source
    }

    /// `requests 499/500, tokens 29000/30000`.
    public var display: String {
        limits.map { l in "\(l.name) \(l.remaining.map(String.init) ?? "?")/\(l.limit.map(String.init) ?? "?")" }.joined(separator: ", ")
    }

    /// The rate-limit headers among `headers`, or nil when there are none.
    /// Cheap enough for the gateway's hot path: a header is looked at only
    /// when its name starts with `x-ratelimit-` or `anthropic-ratelimit-`.
    /// How many named limits one answer may record (providers send two to six).
    static let maximumLimits = 8

    public static func parse(_ headers: some Sequence<(String, String)>, at time: Timestamp, source: String) -> RateLimitHeadroom? {
        var limits: [Limit] = []
        for (rawName, value) in headers {
            guard let first = rawName.utf8.first, first | 0x20 == UInt8(ascii: "x") || first | 0x20 == UInt8(ascii: "a") else { continue }
            let name = rawName.lowercased()
            let field: String, limitName: String
            if name.hasPrefix("x-ratelimit-") {
                // x-ratelimit-remaining-requests, or OpenRouter's bare x-ratelimit-remaining.
                let rest = name.dropFirst("x-ratelimit-".count)
                let parts = rest.split(separator: "-", maxSplits: 1)
                guard let head = parts.first else { continue }
                field = String(head)
                limitName = parts.count > 1 ? String(parts[1]) : "requests"
            } else if name.hasPrefix("anthropic-ratelimit-") {
                let rest = name.dropFirst("anthropic-ratelimit-".count)
                guard let dash = rest.lastIndex(of: "-") else { continue }
                field = String(rest[rest.index(after: dash)...])
                limitName = String(rest[..<dash])
            } else {
                continue
            }
            guard ["limit", "remaining", "reset"].contains(field), !limitName.isEmpty, limitName.count <= 40,
                  limitName.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }) else { continue }
            // At most eight limits a key: a relay answering with made-up header
            // names must not make a metrics series (and a stored row) per name.
            guard limits.count < Self.maximumLimits || limits.contains(where: { $0.name == limitName }) else { continue }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            var entry = limits.first { $0.name == limitName } ?? Limit(name: limitName)
            switch field {
            case "limit": entry.limit = Int64(trimmed)
            case "remaining": entry.remaining = Int64(trimmed)
            default: entry.reset = String(trimmed.prefix(64))
            }
            if let index = limits.firstIndex(where: { $0.name == limitName }) { limits[index] = entry } else { limits.append(entry) }
        }
        let useful = limits.filter { $0.limit != nil || $0.remaining != nil }
        guard !useful.isEmpty else { return nil }
        return RateLimitHeadroom(limits: useful.sorted { $0.name < $1.name }, seenAt: time, source: source)
    }
}

/// One key's balance, with where the key is, for `status` and `/metrics`.
public struct KeyBalanceEntry: Codable, Sendable, Equatable {
    public var keyID: String
    public var provider: String
    public var scope: String
    public var state: KeyState
    public var balance: KeyBalance?
    public var rateLimits: RateLimitHeadroom?

    enum CodingKeys: String, CodingKey { case keyID = "key_id", provider, scope, state, balance, rateLimits = "rate_limits" }

    public init(keyID: String, provider: String, scope: String, state: KeyState, balance: KeyBalance?, rateLimits: RateLimitHeadroom?) {
        (self.keyID, self.provider, self.scope, self.state, self.balance, self.rateLimits) = (keyID, provider, scope, state, balance, rateLimits)
    }
}

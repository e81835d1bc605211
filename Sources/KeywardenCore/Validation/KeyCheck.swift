/// The result of checking one key, as `validate --json` prints it.
public struct KeyCheck: Codable, Sendable {
    public var id: String
    public var provider: String
    public var scope: String
    public var label: String
    public var hint: String
    public var fingerprint: String
    public var outcome: ValidationOutcome
    /// The HTTP status of the last attempt, when there was an answer.
    public var status: Int?
    /// The stage that failed when there was no answer (`dns`, `connect`, `tls`, …).
    public var stage: ProbeStage?
    public var latencyMs: Double
    public var attempts: Int
    public var reason: String
    public var fix: String?
    public var checkedAt: Timestamp
    /// The host the check talked to (the base URL's), so a summary can say
    /// "DNS fails for api.anthropic.com" once instead of once per key.
    public var host: String?
    /// The balance the provider reported, where it tells one (``BalanceProbe``).
    public var balance: KeyBalance? = nil
    /// The rate-limit headers of the answer, when it had any.
    public var rateLimits: RateLimitHeadroom? = nil

    enum CodingKeys: String, CodingKey {
        case id, provider, scope, label, hint, fingerprint, outcome, status, stage
        case latencyMs = "latency_ms", attempts, reason, fix, checkedAt = "checked_at", host, balance, rateLimits = "rate_limits"
    }

    /// One line for the audit trail and `key show`: what happened, never the key.
    public var summary: String {
        var text = status.map { "HTTP \($0)" } ?? "no answer (\(stage?.rawValue ?? "?"))"
        text += " after \(attempts) attempt\(attempts == 1 ? "" : "s"), \(Int(latencyMs.rounded())) ms: \(reason)"
        return text
    }
}

/// When the agent probes a failed key again: a minute after it failed, then
/// after 2, 4, 8, … minutes, each delay doubled and capped at `maximum`
/// (`serve --recovery-max-backoff`, 6 hours unless set). The delay depends
/// only on the attempt count stored on the key, so it carries over agent
/// restarts and hosts.
public struct RecoveryBackoff: Sendable, Equatable {
    /// The first probe after a key failed, in seconds.
    public static let firstDelay: Int64 = 60
    public static let defaultMaximum = DurationSpec(seconds: 6 * 3600)
    /// `--recovery-max-backoff` accepts 1 minute to 30 days.
    static let range: ClosedRange<Int64> = 60...(30 * 86400)

    public var maximum: DurationSpec

    public init(maximum: DurationSpec = defaultMaximum) { self.maximum = maximum }

    /// Reads `serve --recovery-max-backoff`: a duration, or `off` (nil: no probes).
    public static func option(_ text: String) throws(KeywardenError) -> RecoveryBackoff? {
        if text == "off" { return nil }
        return RecoveryBackoff(maximum: try DurationSpec(option: "recovery-max-backoff", text, examples: "30m, 6h or 1d, or off", range: range))
    }

    /// The wait before the next probe once `attempts` probes found the key
    /// still failing: 1 min × 2^attempts, at most `maximum`.
    public func delay(afterAttempts attempts: Int64) -> Int64 {
        let doublings = max(0, min(attempts, 32))
        return min(Self.firstDelay << doublings, max(Self.firstDelay, maximum.seconds))
    }
}

extension ValidationOutcome {
    /// A key failed for this reason may work again without anyone touching
    /// it (a rate limit passes, credit is topped up, the provider recovers):
    /// the agent probes it again. `invalid` and `forbidden` need a person.
    public var healsOnItsOwn: Bool { self == .rateLimited || self == .noCredit || self == .providerError }
}

extension KeyRecord {
    /// Makes the key `failed` because of `outcome`, with its first recovery
    /// probe planned when the outcome may heal (``ValidationOutcome/healsOnItsOwn``).
    /// Every path that fails a key goes through here, so the cause is always
    /// recorded where the row MAC covers it.
    mutating func markFailed(because outcome: ValidationOutcome, at now: Timestamp) {
        state = .failed
        // The schema admits only verdicts on the key; anything else reads as unexpected.
        failedBecause = outcome.verdict == .notValid || outcome.healsOnItsOwn ? outcome : .unexpected
        probeAttempts = 0
        nextProbeAt = outcome.healsOnItsOwn ? now.adding(seconds: RecoveryBackoff.firstDelay) : nil
        updatedAt = now
    }

    /// Forgets the recovery state once the key is no longer failed.
    mutating func clearRecovery() {
        failedBecause = nil
        probeAttempts = nil
        nextProbeAt = nil
    }
}

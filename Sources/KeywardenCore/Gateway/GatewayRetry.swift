import Foundation

/// When the gateway tries again, and how long a rate-limited key rests.
/// Pure functions of an answer's headers, the attempt count and a random
/// draw, so that tests pin them exactly.
public enum GatewayRetry {
    /// At most this many transient retries per request.
    public static let maxTransientRetries = 2

    /// Seconds before transient retry number `retry` (0 for the first),
    /// or nil for no retry: `x-should-retry: false`, an outcome that is not
    /// transient (unless `x-should-retry: true`), or no retries left. A
    /// `retry-after-ms`/`retry-after` up to 60 s is honoured; otherwise full
    /// jitter, `uniform(0, min(8, 0.5 × 2^retry))` with `random` in 0..<1.
    public static func transientWait(outcome: GatewayOutcome, headers: [(String, String)], retry: Int, random: Double, now: Date = Date()) -> Double? {
        guard retry < maxTransientRetries else { return nil }
        let should = header("x-should-retry", in: headers)?.lowercased()
        if should == "false" { return nil }
        guard outcome.isTransient || should == "true" else { return nil }
        if let hinted = RetryPolicy.retryAfter(ProbeResponse(status: 0, headers: headers, body: []), now: now) {
            return hinted <= 60 ? max(0, hinted) : nil
        }
        return fullJitter(retry: retry, random: random)
    }

    /// `uniform(0, min(8 s, 0.5 s × 2^retry))`.
    public static func fullJitter(retry: Int, random: Double) -> Double {
        min(8, 0.5 * pow(2, Double(retry))) * min(max(random, 0), 1)
    }

    /// How long a key rests after a 429: `retry-after-ms`, `retry-after`,
    /// the provider's reset headers, else `2^(consecutive-1)` seconds;
    /// clamped to 0.05 s … 15 min.
    public static func cooldown(headers: [(String, String)], consecutive: Int, now: Date = Date()) -> Double {
        let hinted = RetryPolicy.retryAfter(ProbeResponse(status: 429, headers: headers, body: []), now: now)
        let seconds = hinted ?? min(60, pow(2, Double(max(consecutive, 1) - 1)))
        return min(max(seconds, 0.05), 900)
    }

    static func header(_ name: String, in headers: [(String, String)]) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }
}

import Foundation

/// When to try a check again, following the official SDKs: only transient
/// outcomes, `x-should-retry` first, then `retry-after-ms`, then `retry-after`
/// (seconds or an HTTP date) when reasonable, else capped exponential backoff
/// with jitter. Never past the check's deadline.
public struct RetryPolicy: Sendable {
    /// Attempts in all (the first plus retries).
    public var maxAttempts: Int
    public var initialBackoff: Double
    public var maxBackoff: Double
    /// A `retry-after` longer than this is reported, not waited for.
    public var maxRetryAfter: Double

    public init(maxAttempts: Int = 3, initialBackoff: Double = 0.5, maxBackoff: Double = 8, maxRetryAfter: Double = 60) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
    }

    /// Seconds to wait before attempt `attempt + 1`, or nil to stop.
    /// `random` (0..<1) sets the jitter; nil draws one, only when a backoff
    /// is computed (each draw is a `getrandom` call).
    public func delay(after attempt: Int, outcome: ValidationOutcome, response: ProbeResponse?, now: Date = Date(),
                      random: Double? = nil) -> Double? {
        guard attempt < maxAttempts else { return nil }
        if let should = response?.header("x-should-retry")?.lowercased() {
            if should == "false" { return nil }
            if should != "true" && !outcome.isTransient { return nil }
        } else if !outcome.isTransient {
            return nil
        }
        if let hinted = Self.retryAfter(response, now: now) {
            return hinted <= maxRetryAfter ? max(0, hinted) : nil
        }
        let exponential = min(initialBackoff * pow(2, Double(attempt - 1)), maxBackoff)
        return exponential * (1 - 0.25 * (random ?? Double.random(in: 0..<1)))
    }

    /// The server's requested wait in seconds, from `retry-after-ms` or `retry-after`.
    public static func retryAfter(_ response: ProbeResponse?, now: Date = Date()) -> Double? {
        guard let response else { return nil }
        if let ms = response.header("retry-after-ms").flatMap(Double.init), ms >= 0 { return ms / 1000 }
        guard let value = response.header("retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value), seconds >= 0 { return seconds }
        return httpDate(value).map { $0.timeIntervalSince(now) }
    }

    /// RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}

import Foundation

/// When the gateway tries again, and how long a rate-limited key rests.
/// Pure functions of an answer's headers, the attempt count and a random
/// draw, so that tests pin them exactly.
public enum GatewayRetry {
    /// At most this many transient retries per request.
    public static let maxTransientRetries = 2
    /// A server's `retry-after-ms`/`retry-after` up to this is waited for
    /// before a transient retry (the Anthropic SDK's limit); a longer one is
    /// ignored in favour of full jitter, as the SDKs do.
    public static let maxHonouredRetryAfter = 60.0
    /// The shortest and longest rest of a rate-limited key, in seconds.
    public static let cooldownBounds: ClosedRange<Double> = 0.05...900

    /// Seconds before transient retry number `retry` (0 for the first),
    /// or nil for no retry: `x-should-retry: false`, an outcome that is not
    /// transient (unless `x-should-retry: true`), or no retries left. A
    /// `retry-after-ms`/`retry-after` up to 60 s is honoured; otherwise full
    /// jitter, `uniform(0, min(8, 0.5 × 2^retry))` with `random` in 0..<1.
    public static func transientWait(outcome: GatewayOutcome, headers: [(String, String)], retry: Int, random: Double, now: Date = Date()) -> Double? {
        guard (0..<maxTransientRetries).contains(retry) else { return nil }
        // The server's word overrides the status (anthropic-sdk-python, openai-python `_should_retry`).
        switch header("x-should-retry", in: headers)?.trimmingCharacters(in: .whitespaces).lowercased() {
        case "false": return nil
        case "true": break
        default: guard outcome.isTransient else { return nil }
        }
        if let hinted = RetryPolicy.retryAfter(ProbeResponse(status: 0, headers: headers, body: []), now: now), hinted <= maxHonouredRetryAfter {
            // A date already past means "now".
            return max(0, hinted)
        }
        return fullJitter(retry: retry, random: random)
    }

    /// `uniform(0, min(8 s, 0.5 s × 2^retry))`.
    public static func fullJitter(retry: Int, random: Double) -> Double {
        min(8, 0.5 * pow(2, Double(max(retry, 0)))) * min(max(random, 0), 1)
    }

    /// How long a key rests after a 429: `retry-after-ms`, `retry-after`,
    /// the provider's reset headers, else `2^(consecutive-1)` seconds;
    /// clamped to 0.05 s … 15 min.
    ///
    /// The reset headers: Anthropic's `anthropic-ratelimit-{requests,tokens,
    /// input-tokens,output-tokens}-reset` (RFC 3339 times), then OpenAI's and
    /// Groq's `x-ratelimit-reset-{requests,tokens}` (Go durations such as
    /// `6m0s`). Of a family, the latest reset among the limits whose
    /// `…-remaining` is 0 (the key is out until all of them reset), else the
    /// earliest reset.
    public static func cooldown(headers: [(String, String)], consecutive: Int, now: Date = Date()) -> Double {
        let seconds = RetryPolicy.retryAfter(ProbeResponse(status: 429, headers: headers, body: []), now: now)
            ?? anthropicReset(headers, now: now)
            ?? openAIReset(headers)
            ?? min(60, pow(2, Double(max(consecutive, 1) - 1)))
        guard !seconds.isNaN else { return cooldownBounds.lowerBound }
        return min(max(seconds, cooldownBounds.lowerBound), cooldownBounds.upperBound)
    }

    /// Seconds until the Anthropic limits allow traffic again, by the rule above.
    static func anthropicReset(_ headers: [(String, String)], now: Date) -> Double? {
        let limits = ["requests", "tokens", "input-tokens", "output-tokens"].compactMap { limit -> (seconds: Double, exhausted: Bool)? in
            guard let reset = header("anthropic-ratelimit-\(limit)-reset", in: headers).flatMap(rfc3339) else { return nil }
            return (reset.timeIntervalSince(now), isZero(header("anthropic-ratelimit-\(limit)-remaining", in: headers)))
        }
        return resetRule(limits)
    }

    /// Seconds until the OpenAI/Groq limits allow traffic again, by the rule above.
    static func openAIReset(_ headers: [(String, String)]) -> Double? {
        let limits = ["requests", "tokens"].compactMap { limit -> (seconds: Double, exhausted: Bool)? in
            guard let seconds = header("x-ratelimit-reset-\(limit)", in: headers).flatMap(goDuration) else { return nil }
            return (seconds, isZero(header("x-ratelimit-remaining-\(limit)", in: headers)))
        }
        return resetRule(limits)
    }

    private static func resetRule(_ limits: [(seconds: Double, exhausted: Bool)]) -> Double? {
        let exhausted = limits.filter(\.exhausted)
        return exhausted.isEmpty ? limits.map(\.seconds).min() : exhausted.map(\.seconds).max()
    }

    private static func isZero(_ remaining: String?) -> Bool {
        remaining.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } == 0
    }

    static func header(_ name: String, in headers: [(String, String)]) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }

    /// A Go `time.Duration` string (`20ms`, `1s`, `6m0s`, `1m30.5s`, `2h0m0s`,
    /// `1.5µs`, `0`) in seconds; nil when it is not one or is negative.
    static func goDuration(_ text: String) -> Double? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest == "0" { return 0 }
        if rest.hasPrefix("+") { rest = rest.dropFirst() }
        guard !rest.isEmpty else { return nil }
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("\u{00B5}s", 1e-6), ("\u{03BC}s", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            // Longest unit first: `ms` before `m`.
            guard let (unit, scale) = units.filter({ rest.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * scale
        }
        return total
    }

    /// An RFC 3339 date-time (`2025-06-12T10:15:31Z`, `…31.123456+02:00`).
    /// Parsed by hand: a formatter costs more than the whole computation,
    /// and Foundation's refuses more than three fraction digits on some platforms.
    static func rfc3339(_ text: String) -> Date? {
        let bytes = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<(index + count)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += count
            return value
        }
        func expect(_ allowed: Set<UInt8>) -> Bool {
            guard index < bytes.count, allowed.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect([0x2D]), let month = digits(2), expect([0x2D]), let day = digits(2),
              expect([0x54, 0x74, 0x20]), let hour = digits(2), expect([0x3A]), let minute = digits(2), expect([0x3A]), let second = digits(2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var fraction = 0.0
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case 0x5A, 0x7A: index += 1
        case 0x2B, 0x2D:
            let sign = bytes[index] == 0x2D ? -1 : 1
            index += 1
            guard let hours = digits(2), expect([0x3A]), let minutes = digits(2), hours < 24, minutes < 60 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        default: return nil
        }
        guard index == bytes.count else { return nil }
        // Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = Double(days * 86400 + hour * 3600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: seconds)
    }
}

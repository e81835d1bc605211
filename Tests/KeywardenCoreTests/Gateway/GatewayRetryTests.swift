import Foundation
import Testing
@testable import KeywardenCore

@Suite("Gateway retry: transient waits and rate-limit cooldowns")
struct GatewayRetryTests {
    static let now = Date(timeIntervalSince1970: 1_750_000_000)  // 2025-06-15T15:06:40Z
    static func date(_ seconds: Double) -> Date { now.addingTimeInterval(seconds) }
    static func rfc(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date(seconds))
    }
    static func httpDate(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date(seconds))
    }

    func cooldown(_ headers: [(String, String)], consecutive: Int = 1) -> Double {
        GatewayRetry.cooldown(headers: headers, consecutive: consecutive, now: Self.now)
    }

    func wait(_ outcome: GatewayOutcome, _ headers: [(String, String)] = [], retry: Int = 0, random: Double = 0.5) -> Double? {
        GatewayRetry.transientWait(outcome: outcome, headers: headers, retry: retry, random: random, now: Self.now)
    }

    // MARK: full jitter and transient retries

    @Test("full jitter stays within uniform(0, min(8, 0.5 * 2^n))")
    func jitterBounds() {
        for retry in 0..<12 {
            let cap = min(8, 0.5 * pow(2, Double(retry)))
            #expect(GatewayRetry.fullJitter(retry: retry, random: 0) == 0)
            #expect(abs(GatewayRetry.fullJitter(retry: retry, random: 0.5) - cap / 2) < 1e-12)
            #expect(GatewayRetry.fullJitter(retry: retry, random: 0.999_999) < cap)
            for _ in 0..<200 {
                let value = GatewayRetry.fullJitter(retry: retry, random: Double.random(in: 0..<1))
                #expect(value >= 0 && value < cap)
            }
        }
        #expect(GatewayRetry.fullJitter(retry: 0, random: 0.999) < 0.5)
        #expect(GatewayRetry.fullJitter(retry: 1, random: 0.999) < 1)
        #expect(GatewayRetry.fullJitter(retry: 10, random: 1) == 8)
        #expect(GatewayRetry.fullJitter(retry: 1, random: -3) == 0, "a draw outside 0..<1 is clamped")
        #expect(GatewayRetry.fullJitter(retry: 1, random: 7) == 1)
        #expect(GatewayRetry.fullJitter(retry: -1, random: 0.5) == 0.25, "a negative count is the first retry")
    }

    @Test("transient outcomes retry with full jitter, at most twice")
    func transientOutcomes() {
        for outcome in GatewayOutcome.allCases {
            let expected = [.providerError, .timeout, .connectError].contains(outcome)
            #expect((wait(outcome) != nil) == expected, "\(outcome)")
        }
        #expect(wait(.providerError, retry: 0, random: 0.5) == 0.25)
        #expect(wait(.providerError, retry: 1, random: 0.5) == 0.5)
        #expect(wait(.providerError, retry: 2) == nil)
        #expect(wait(.providerError, retry: 5) == nil)
        #expect(wait(.providerError, retry: -1) == nil)
        #expect(GatewayRetry.maxTransientRetries == 2)
    }

    @Test("x-should-retry: false never retries; true retries even what is not transient")
    func shouldRetry() {
        #expect(wait(.providerError, [("x-should-retry", "false")]) == nil)
        #expect(wait(.timeout, [("X-Should-Retry", "FALSE")]) == nil)
        #expect(wait(.providerError, [("x-should-retry", "false"), ("retry-after", "1")]) == nil)
        #expect(wait(.clientError, [("x-should-retry", "true")]) == 0.25)
        #expect(wait(.rateLimited, [("x-should-retry", " true ")]) == 0.25)
        #expect(wait(.invalid, [("x-should-retry", "true"), ("retry-after-ms", "300")]) == 0.3)
        #expect(wait(.clientError, [("x-should-retry", "true")], retry: 2) == nil, "still at most two retries")
        #expect(wait(.clientError, [("x-should-retry", "maybe")]) == nil, "anything else: the outcome decides")
        #expect(wait(.providerError, [("x-should-retry", "maybe")]) == 0.25)
    }

    @Test("a retry-after-ms or retry-after up to 60 s is waited for; a longer one falls back to jitter")
    func hintedWaits() {
        #expect(wait(.providerError, [("retry-after-ms", "1500")]) == 1.5)
        #expect(wait(.providerError, [("retry-after-ms", "250"), ("retry-after", "9")]) == 0.25, "retry-after-ms first")
        #expect(wait(.providerError, [("retry-after", "2")]) == 2)
        #expect(wait(.providerError, [("retry-after", "0.5")]) == 0.5)
        #expect(wait(.providerError, [("retry-after", "60")]) == 60)
        #expect(wait(.providerError, [("retry-after", "61")], random: 0.5) == 0.25)
        #expect(wait(.providerError, [("retry-after-ms", "90000")], retry: 1, random: 0.5) == 0.5)
        #expect(wait(.providerError, [("retry-after", Self.httpDate(30))]) == 30)
        #expect(wait(.providerError, [("retry-after", Self.httpDate(-30))]) == 0, "a date already past: now")
        #expect(wait(.providerError, [("retry-after", "soon")]) == 0.25, "an unreadable hint is no hint")
    }

    // MARK: cooldowns

    @Test("retry-after-ms, then retry-after in seconds or as an HTTP date")
    func retryAfterCooldowns() {
        #expect(cooldown([("retry-after-ms", "200")]) == 0.2)
        #expect(cooldown([("retry-after-ms", "200"), ("retry-after", "7")]) == 0.2)
        #expect(cooldown([("retry-after", "7")]) == 7)
        #expect(cooldown([("Retry-After", "2.5")]) == 2.5)
        #expect(cooldown([("retry-after", Self.httpDate(42))]) == 42)
        #expect(cooldown([("retry-after", "3"), ("x-ratelimit-reset-requests", "20s"), ("x-ratelimit-remaining-requests", "0")]) == 3,
                "retry-after before the reset headers")
        #expect(cooldown([("retry-after", "3"), ("anthropic-ratelimit-requests-reset", Self.rfc(20)),
                          ("anthropic-ratelimit-requests-remaining", "0")]) == 3)
    }

    @Test("Anthropic resets: the latest among exhausted limits, else the earliest")
    func anthropicResets() {
        func limit(_ name: String, remaining: String, in seconds: Double) -> [(String, String)] {
            [("anthropic-ratelimit-\(name)-remaining", remaining), ("anthropic-ratelimit-\(name)-reset", Self.rfc(seconds))]
        }
        #expect(cooldown(limit("requests", remaining: "0", in: 10) + limit("tokens", remaining: "39500", in: 50)) == 10)
        #expect(cooldown(limit("requests", remaining: "0", in: 10) + limit("input-tokens", remaining: "0", in: 30)
                         + limit("output-tokens", remaining: "7700", in: 50)) == 30)
        #expect(cooldown(limit("tokens", remaining: "12", in: 40) + limit("output-tokens", remaining: "7", in: 25)
                         + limit("requests", remaining: "3", in: 55)) == 25, "none at 0: the earliest")
        #expect(cooldown(limit("output-tokens", remaining: "0", in: 120) + limit("requests", remaining: "5", in: 2)) == 120)
        #expect(cooldown([("anthropic-ratelimit-tokens-reset", Self.rfc(8))]) == 8, "no remaining header: a reset still counts")
        #expect(cooldown(limit("requests", remaining: "0", in: -5)) == 0.05, "a reset already past: the shortest rest")
        #expect(cooldown([("anthropic-ratelimit-requests-reset", "tomorrow")], consecutive: 3) == 4, "unreadable: backoff")
        #expect(cooldown([("anthropic-ratelimit-requests-remaining", "0")], consecutive: 1) == 1)
    }

    @Test("Anthropic's documented 429 rests until its exhausted request limit resets")
    func anthropicDocumented() throws {
        let answer = try #require(BuiltinProviders.provider(named: "anthropic")?.answer(for: "ratelimited"))
        let reset = try #require(GatewayRetry.rfc3339("2025-06-12T10:15:31Z"))
        let withoutRetryAfter = answer.response.headers.filter { $0.0 != "retry-after" }
        #expect(GatewayRetry.cooldown(headers: withoutRetryAfter, consecutive: 1, now: reset.addingTimeInterval(-12)) == 12)
        #expect(GatewayRetry.cooldown(headers: answer.response.headers, consecutive: 1, now: reset.addingTimeInterval(-12)) == 1)
    }

    @Test("RFC 3339 times: Z, offsets, fractions of any length; nonsense refused")
    func rfc3339() throws {
        let base = try #require(GatewayRetry.rfc3339("2025-06-12T10:15:31Z"))
        #expect(base.timeIntervalSince1970 == 1_749_723_331)
        #expect(GatewayRetry.rfc3339("2025-06-12t10:15:31z") == base)
        #expect(GatewayRetry.rfc3339("2025-06-12 10:15:31Z") == base)
        #expect(GatewayRetry.rfc3339("2025-06-12T12:15:31+02:00") == base)
        #expect(GatewayRetry.rfc3339("2025-06-12T05:45:31-04:30") == base)
        #expect(GatewayRetry.rfc3339("2025-06-12T10:15:31.5Z")?.timeIntervalSince(base) == 0.5)
        let nanos = try #require(GatewayRetry.rfc3339("2025-06-12T10:15:31.123456789Z"))
        #expect(abs(nanos.timeIntervalSince(base) - 0.123456789) < 1e-6)
        #expect(GatewayRetry.rfc3339("2024-02-29T00:00:00Z")?.timeIntervalSince1970 == 1_709_164_800)
        #expect(GatewayRetry.rfc3339("1970-01-01T00:00:00Z")?.timeIntervalSince1970 == 0)
        #expect(GatewayRetry.rfc3339("2000-03-01T00:00:00Z")?.timeIntervalSince1970 == 951_868_800)
        for bad in ["", "2025-06-12", "2025-06-12T10:15:31", "2025-06-12T10:15Z", "2025-13-01T00:00:00Z", "2025-06-12T24:00:00Z",
                    "2025-06-12T10:15:31.Z", "2025-06-12T10:15:31+0200", "2025-06-12T10:15:31Zjunk", "Thu, 12 Jun 2025 10:15:31 GMT", "1s"] {
            #expect(GatewayRetry.rfc3339(bad) == nil, "\(bad)")
        }
        // Agrees with Foundation's parser where both read the text.
        let formatter = ISO8601DateFormatter()
        for text in ["2026-11-29T18:42:53Z", "1999-12-31T23:59:59Z", "2030-01-01T00:00:00+05:30"] {
            #expect(GatewayRetry.rfc3339(text) == formatter.date(from: text), "\(text)")
        }
    }

    @Test("Go durations: 20ms, 1s, 6m0s, 1m30.5s, 2h0m0s and the rest of the grammar")
    func goDurations() {
        let cases: [(String, Double)] = [
            ("20ms", 0.02), ("1s", 1), ("6m0s", 360), ("1m30.5s", 90.5), ("2h0m0s", 7200), ("0", 0), ("0s", 0),
            ("1.1s", 1.1), ("120ms", 0.12), ("2m52.8s", 172.8), ("17.5ms", 0.0175), ("1h", 3600), ("1h1m1s", 3661),
            ("500us", 0.0005), ("500\u{00B5}s", 0.0005), ("500\u{03BC}s", 0.0005), ("250ns", 2.5e-7), ("+3s", 3), (" 6m0s ", 360),
            ("1.5h", 5400), (".5s", 0.5),
        ]
        for (text, seconds) in cases {
            let parsed = GatewayRetry.goDuration(text)
            #expect(parsed != nil && abs(parsed! - seconds) < 1e-9, "\(text) -> \(String(describing: parsed))")
        }
        for bad in ["", "s", "1", "1.5", "-1s", "1x", "1s2", "1..5s", "one second", "1 s", "ms", "."] {
            #expect(GatewayRetry.goDuration(bad) == nil, "\(bad)")
        }
    }

    @Test("OpenAI and Groq resets: the latest among exhausted limits, else the earliest")
    func openAIResets() {
        #expect(cooldown([("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "6m0s"),
                          ("x-ratelimit-remaining-tokens", "100"), ("x-ratelimit-reset-tokens", "1s")]) == 360)
        #expect(cooldown([("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "20ms"),
                          ("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "1m30.5s")]) == 90.5)
        #expect(cooldown([("x-ratelimit-remaining-requests", "4"), ("x-ratelimit-reset-requests", "2h0m0s"),
                          ("x-ratelimit-remaining-tokens", "7"), ("x-ratelimit-reset-tokens", "1s")]) == 1, "none at 0: the earliest")
        #expect(cooldown([("x-ratelimit-reset-tokens", "2s")]) == 2)
        #expect(cooldown([("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "20ms")]) == 0.05, "the shortest rest")
        #expect(cooldown([("x-ratelimit-reset-requests", "whenever")], consecutive: 2) == 2, "unreadable: backoff")
        #expect(cooldown([("anthropic-ratelimit-requests-reset", Self.rfc(9)), ("x-ratelimit-reset-requests", "20s")]) == 9,
                "Anthropic's headers before OpenAI's")
    }

    @Test("OpenAI's and Groq's documented 429s without their retry-after")
    func documentedResets() throws {
        func documented(_ provider: String, _ scenario: String) throws -> [(String, String)] {
            try #require(BuiltinProviders.provider(named: provider)?.answer(for: scenario)).response.headers
        }
        let openai = try documented("openai", "ratelimited")
        #expect(cooldown(openai) == 1, "retry-after first")
        #expect(abs(cooldown(openai.filter { $0.0 != "retry-after" }) - 0.12) < 1e-9, "requests exhausted: 120ms")
        let groq = try documented("groq", "ratelimited")
        #expect(cooldown(groq.filter { $0.0 != "retry-after" }) == 1, "tokens exhausted: 1s, not the requests' 2m52.8s")
        let ms = try documented("openai", "ratelimitedms")
        #expect(cooldown(ms) == 0.2)
    }

    @Test("no hint: 2^(n-1) seconds up to 60; every cooldown within 0.05 s ... 15 min")
    func backoffAndClamps() {
        #expect((1...9).map { cooldown([], consecutive: $0) } == [1, 2, 4, 8, 16, 32, 60, 60, 60])
        #expect(cooldown([], consecutive: 0) == 1)
        #expect(cooldown([], consecutive: -4) == 1)
        #expect(cooldown([], consecutive: 10_000) == 60)
        #expect(cooldown([("retry-after", "86400")]) == 900)
        #expect(cooldown([("retry-after-ms", "1")]) == 0.05)
        #expect(cooldown([("retry-after", "0")]) == 0.05)
        #expect(cooldown([("retry-after", Self.httpDate(-600))]) == 0.05)
        #expect(cooldown([("retry-after", Self.httpDate(3600))]) == 900)
        #expect(cooldown([("anthropic-ratelimit-requests-remaining", "0"), ("anthropic-ratelimit-requests-reset", Self.rfc(7200))]) == 900)
        #expect(cooldown([("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "2h0m0s")]) == 900)
        #expect(cooldown([("retry-after", "inf")]) == 900)
        #expect(GatewayRetry.cooldownBounds == 0.05...900)
    }
}

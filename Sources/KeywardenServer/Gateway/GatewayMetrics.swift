import Foundation
import KeywardenCore
import NIOConcurrencyHelpers

/// The gateway's counters on `/metrics`, per provider, scope and key id —
/// never a key's value or fingerprint. Each key has its own counters and
/// lock, resolved once per pool snapshot, so the hot path builds no label.
final class GatewayMetrics: Sendable {
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

    struct Histogram {
        var counts = [Int](repeating: 0, count: GatewayMetrics.buckets.count)
        var sum = 0.0
        var total = 0

        mutating func record(_ seconds: Double) {
            for (i, bound) in GatewayMetrics.buckets.enumerated() where seconds <= bound { counts[i] += 1 }
            sum += seconds
            total += 1
        }
    }

    struct Counts {
        var requests: [GatewayOutcome: Int] = [:]
        var attempts: [GatewayOutcome: Int] = [:]
        var retries: [String: Int] = [:]
        var failovers = 0
        var cooldowns = 0
        var inFlight = 0
        var cooling = false
        var upstream = Histogram()
    }

    /// One key's counters; `labels` is `provider="…",scope="…",key="k_…"`.
    final class KeyCounters: Sendable {
        let labels: String
        let counts = NIOLockedValueBox(Counts())

        init(labels: String) { self.labels = labels }

        func request(_ outcome: GatewayOutcome) { counts.withLockedValue { $0.requests[outcome, default: 0] += 1 } }
        func attempt(_ outcome: GatewayOutcome, seconds: Double?) {
            counts.withLockedValue {
                $0.attempts[outcome, default: 0] += 1
                if let seconds { $0.upstream.record(seconds) }
            }
        }
        func retry(_ reason: String) { counts.withLockedValue { $0.retries[reason, default: 0] += 1 } }
        func failover() { counts.withLockedValue { $0.failovers += 1 } }
        func cooldown(cooling: Bool) {
            counts.withLockedValue {
                if cooling { $0.cooldowns += 1 }
                $0.cooling = cooling
            }
        }
        func inFlight(_ delta: Int) { counts.withLockedValue { $0.inFlight += delta } }
    }

    private let keys = NIOLockedValueBox<[String: KeyCounters]>([:])
    /// Requests answered without a key (refused, no pool), per provider and outcome.
    private let keyless = NIOLockedValueBox<[String: [GatewayOutcome: Int]]>([:])
    /// A provider and scope, escaped into labels only when rendered: every
    /// streamed answer counts here, and building the label text each time
    /// (Foundation's string replacing) cost 7% of the fast path's CPU.
    private struct PoolLabels: Hashable {
        var provider: String
        var scope: String
    }

    /// Request arrival → head written, per provider and scope.
    private let firstByte = NIOLockedValueBox<[PoolLabels: Histogram]>([:])

    /// The counters of `key` (made on first use). Labels carry its id, its
    /// provider and the scope whose pool holds it.
    func counters(provider: String, scope: String, keyID: String) -> KeyCounters {
        keys.withLockedValue { keys in
            let id = "\(provider)|\(scope)|\(keyID)"
            if let existing = keys[id] { return existing }
            let made = KeyCounters(labels: "provider=\"\(Self.escaped(provider))\",scope=\"\(Self.escaped(scope))\",key=\"\(Self.escaped(keyID))\"")
            keys[id] = made
            return made
        }
    }

    func keylessRequest(provider: String, outcome: GatewayOutcome) {
        keyless.withLockedValue { $0[provider, default: [:]][outcome, default: 0] += 1 }
    }

    func headWritten(provider: String, scope: String, seconds: Double) {
        firstByte.withLockedValue { $0[PoolLabels(provider: provider, scope: scope), default: Histogram()].record(seconds) }
    }

    /// Label values come from names Keywarden checked (providers, scopes, key
    /// ids), but quotes and backslashes are escaped all the same.
    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: " ")
    }

    /// The Prometheus exposition text of every gateway family.
    func render() -> String {
        let snapshot = keys.withLockedValue { $0.values.map { ($0.labels, $0.counts.withLockedValue { $0 }) } }.sorted { $0.0 < $1.0 }
        let keylessCounts = keyless.withLockedValue { $0 }
        let heads = firstByte.withLockedValue { $0 }.map { key, histogram in
            ("provider=\"\(Self.escaped(key.provider))\",scope=\"\(Self.escaped(key.scope))\"", histogram)
        }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        family("keywarden_gateway_requests_total", "counter", "Gateway requests by the outcome of the attempt that answered; key=\"none\" when no key was used.")
        for (labels, c) in snapshot {
            for (outcome, n) in c.requests.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { out += "keywarden_gateway_requests_total{\(labels),outcome=\"\(outcome.rawValue)\"} \(n)\n" }
        }
        for (provider, outcomes) in keylessCounts.sorted(by: { $0.key < $1.key }) {
            for (outcome, n) in outcomes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                out += "keywarden_gateway_requests_total{provider=\"\(Self.escaped(provider))\",scope=\"none\",key=\"none\",outcome=\"\(outcome.rawValue)\"} \(n)\n"
            }
        }
        family("keywarden_gateway_attempts_total", "counter", "Upstream attempts by outcome.")
        for (labels, c) in snapshot {
            for (outcome, n) in c.attempts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { out += "keywarden_gateway_attempts_total{\(labels),outcome=\"\(outcome.rawValue)\"} \(n)\n" }
        }
        family("keywarden_gateway_upstream_duration_seconds", "histogram", "Attempt start to the provider's answer head.")
        for (labels, c) in snapshot where c.upstream.total > 0 {
            for (i, bound) in Self.buckets.enumerated() { out += "keywarden_gateway_upstream_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(c.upstream.counts[i])\n" }
            out += "keywarden_gateway_upstream_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(c.upstream.total)\n"
            out += "keywarden_gateway_upstream_duration_seconds_sum{\(labels)} \(c.upstream.sum)\n"
            out += "keywarden_gateway_upstream_duration_seconds_count{\(labels)} \(c.upstream.total)\n"
        }
        family("keywarden_gateway_first_byte_seconds", "histogram", "Request arrival to the answer's head written to the client.")
        for (labels, h) in heads.sorted(by: { $0.0 < $1.0 }) {
            for (i, bound) in Self.buckets.enumerated() { out += "keywarden_gateway_first_byte_seconds_bucket{\(labels),le=\"\(bound)\"} \(h.counts[i])\n" }
            out += "keywarden_gateway_first_byte_seconds_bucket{\(labels),le=\"+Inf\"} \(h.total)\n"
            out += "keywarden_gateway_first_byte_seconds_sum{\(labels)} \(h.sum)\n"
            out += "keywarden_gateway_first_byte_seconds_count{\(labels)} \(h.total)\n"
        }
        family("keywarden_gateway_retries_total", "counter", "Transient retries, by reason.")
        for (labels, c) in snapshot {
            for (reason, n) in c.retries.sorted(by: { $0.key < $1.key }) { out += "keywarden_gateway_retries_total{\(labels),reason=\"\(reason)\"} \(n)\n" }
        }
        family("keywarden_gateway_failovers_total", "counter", "Requests sent again on another key after this key failed authentication.")
        for (labels, c) in snapshot where c.failovers > 0 { out += "keywarden_gateway_failovers_total{\(labels)} \(c.failovers)\n" }
        family("keywarden_gateway_cooldowns_total", "counter", "Rate-limit cooldowns started.")
        for (labels, c) in snapshot where c.cooldowns > 0 { out += "keywarden_gateway_cooldowns_total{\(labels)} \(c.cooldowns)\n" }
        family("keywarden_gateway_in_flight", "gauge", "Upstream attempts in flight, streams included.")
        for (labels, c) in snapshot { out += "keywarden_gateway_in_flight{\(labels)} \(c.inFlight)\n" }
        family("keywarden_gateway_key_cooling", "gauge", "1 while the key rests after a rate limit.")
        for (labels, c) in snapshot { out += "keywarden_gateway_key_cooling{\(labels)} \(c.cooling ? 1 : 0)\n" }
        return out
    }
}

import Foundation
import KeywardenCore
import NIOConcurrencyHelpers

/// Counters and a latency histogram in Prometheus' text format. Labels are
/// route templates, statuses, outcomes and reasons — never a key, a value or a
/// fingerprint.
public final class AgentMetrics: Sendable {
    static let buckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1]

    private struct Histogram {
        var counts = [Int](repeating: 0, count: AgentMetrics.buckets.count)
        var sum = 0.0
        var total = 0

        mutating func record(_ seconds: Double) {
            for (i, bound) in AgentMetrics.buckets.enumerated() where seconds <= bound { counts[i] += 1 }
            sum += seconds
            total += 1
        }

        mutating func add(_ other: Histogram) {
            for i in counts.indices { counts[i] += other.counts[i] }
            sum += other.sum
            total += other.total
        }
    }

    private struct Storage {
        var requests: [RouteStatus: Int] = [:]
        var latency: [String: Histogram] = [:]     // route
        var denials: [String: Int] = [:]           // reason
        var reports: [String: Int] = [:]           // outcome
        var validations: [String: Int] = [:]       // outcome
        var rotations: [String: Int] = [:]         // result
        var valuesServed = 0
        /// On a PostgreSQL vault: whether this agent runs the rotation scheduler; nil otherwise.
        var schedulerLeader: Bool?
        /// `GET /v1/keys/{provider}` answered on the event loop, by status:
        /// counted apart so that they hash no route, shown with the router's.
        var hotReads: [Int: Int] = [:]
        var hotLatency = Histogram()
    }

    private let storage = NIOLockedValueBox(Storage())

    public init() {}

    private struct RouteStatus: Hashable {
        var route: String
        var status: Int
    }

    /// Counts a request; allocates nothing once its route and status were seen (the hot path calls it).
    func request(route: String, status: Int, seconds: Double) {
        storage.withLockedValue { s in
            s.requests[RouteStatus(route: route, status: status), default: 0] += 1
            s.latency[route, default: Histogram()].record(seconds)
        }
    }

    /// Counts a key read answered on the event loop (``HotKeyReads``,
    /// ``RawKeyReads``) under the route the router names it by; with a 200,
    /// the value served too. One lock, no hashing of strings.
    func hotRead(status: Int, seconds: Double) {
        storage.withLockedValue { s in
            s.hotReads[status, default: 0] += 1
            s.hotLatency.record(seconds)
            if status == 200 { s.valuesServed += 1 }
        }
    }

    func denial(_ reason: String) { storage.withLockedValue { $0.denials[reason, default: 0] += 1 } }
    func report(_ outcome: String) { storage.withLockedValue { $0.reports[outcome, default: 0] += 1 } }
    func validation(_ outcome: String) { storage.withLockedValue { $0.validations[outcome, default: 0] += 1 } }
    public func rotation(_ result: String) { storage.withLockedValue { $0.rotations[result, default: 0] += 1 } }
    func schedulerLeader(_ leads: Bool) { storage.withLockedValue { $0.schedulerLeader = leads } }
    func valueServed() { storage.withLockedValue { $0.valuesServed += 1 } }

    /// Counts what an operation's answer says happened, whichever route
    /// served it: key checks and reports, by outcome, and values handed out
    /// (`keys.reveal`, `config.get`, each variable of `delivery.environment`),
    /// as `/v1/keys` and `/v1/env` count theirs.
    func observe(_ answer: some Sendable) {
        switch answer {
        case let run as ValidationRun: for check in run.checks { validation(check.outcome.rawValue) }
        case let results as [ReportResult]: for result in results { report(result.outcome.rawValue) }
        case is RevealedKey, is ConfigValue: valueServed()
        case let variables as [EnvironmentVariable]: for _ in variables { valueServed() }
        default: break
        }
    }

    /// The Prometheus exposition text.
    func render(locked: Bool) -> String {
        storage.withLockedValue { stored in
            var s = stored
            for (status, n) in s.hotReads { s.requests[RouteStatus(route: HotKeyReads.route, status: status), default: 0] += n }
            if s.hotLatency.total > 0 { s.latency[HotKeyReads.route, default: Histogram()].add(s.hotLatency) }
            var out = ""
            func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
            family("keywarden_agent_locked", "gauge", "1 when the agent holds no unlocked vault.")
            out += "keywarden_agent_locked \(locked ? 1 : 0)\n"
            family("keywarden_requests_total", "counter", "Requests by route and status.")
            // In the order of "route|status", as always.
            for (key, n) in s.requests.sorted(by: { "\($0.key.route)|\($0.key.status)" < "\($1.key.route)|\($1.key.status)" }) {
                out += "keywarden_requests_total{route=\"\(key.route)\",status=\"\(key.status)\"} \(n)\n"
            }
            family("keywarden_request_duration_seconds", "histogram", "Request latency by route.")
            for (route, h) in s.latency.sorted(by: { $0.key < $1.key }) {
                for (i, bound) in Self.buckets.enumerated() {
                    out += "keywarden_request_duration_seconds_bucket{route=\"\(route)\",le=\"\(bound)\"} \(h.counts[i])\n"
                }
                out += "keywarden_request_duration_seconds_bucket{route=\"\(route)\",le=\"+Inf\"} \(h.total)\n"
                out += "keywarden_request_duration_seconds_sum{route=\"\(route)\"} \(h.sum)\n"
                out += "keywarden_request_duration_seconds_count{route=\"\(route)\"} \(h.total)\n"
            }
            if let leads = s.schedulerLeader {
                family("keywarden_scheduler_leader", "gauge", "1 when this agent holds the rotation scheduler's lease (PostgreSQL vaults).")
                out += "keywarden_scheduler_leader \(leads ? 1 : 0)\n"
            }
            family("keywarden_values_served_total", "counter", "Secret values handed to clients.")
            out += "keywarden_values_served_total \(s.valuesServed)\n"
            for (name, help, values, label) in [
                ("keywarden_denials_total", "Requests refused, by reason.", s.denials, "reason"),
                ("keywarden_reports_total", "Client failure reports, by outcome.", s.reports, "outcome"),
                ("keywarden_validations_total", "Key checks, by outcome.", s.validations, "outcome"),
                ("keywarden_rotations_total", "Rotations, by result.", s.rotations, "result"),
            ] {
                family(name, "counter", help)
                for (value, n) in values.sorted(by: { $0.key < $1.key }) { out += "\(name){\(label)=\"\(value)\"} \(n)\n" }
            }
            return out
        }
    }
}

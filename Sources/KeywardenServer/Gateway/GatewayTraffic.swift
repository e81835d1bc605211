import Foundation
import KeywardenCore
import Logging
import NIOConcurrencyHelpers
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The gateway's traffic, counted in memory per key and caller and written
/// every 10 s (and at shutdown) as one `gateway.forward` event each, with
/// the key's hourly counts for the 24-hour view — aggregated as the agent's
/// serve events are, so traffic costs no commit per request. Refusals and
/// failovers are their own events (``Gateway/recordRejection``).
final class GatewayTraffic: Service, Sendable {
    private struct Key: Hashable {
        var keyID: String
        var caller: GatewayCaller
    }

    private let counts = NIOLockedValueBox<(since: Timestamp, byKey: [Key: GatewayTrafficCount])>((.now(), [:]))
    /// Requests that met the network (DNS, connect, TLS, proxy, timeout),
    /// per key id and outcome, since the last flush: network incidents.
    private let network = NIOLockedValueBox<[String: [ValidationOutcome: Int]]>([:])
    /// The last rate-limit headers seen per key id since the last flush.
    private let rateLimits = NIOLockedValueBox<[String: RateLimitHeadroom]>([:])
    private let state: AgentState
    private let pool: NIOThreadPool
    private let logger: Logger
    let interval: Duration

    init(state: AgentState, pool: NIOThreadPool, logger: Logger, interval: Duration = .seconds(10)) {
        self.state = state
        self.pool = pool
        self.logger = logger
        self.interval = interval
    }

    func count(keyID: String, caller: GatewayCaller, outcome: GatewayOutcome) {
        let column = outcome.trafficClass
        guard column != .none else { return }
        if let met = Self.networkOutcome(outcome) { network.withLockedValue { $0[keyID, default: [:]][met, default: 0] += 1 } }
        counts.withLockedValue { counts in
            let key = Key(keyID: keyID, caller: caller)
            var count = counts.byKey[key] ?? GatewayTrafficCount(keyID: keyID, caller: caller.actor, since: counts.since, until: counts.since)
            switch column {
            case .ok: count.ok += 1
            case .failed: count.failed += 1
            case .rateLimited: count.rateLimited += 1
            case .errors: count.errors += 1
            case .none: break
            }
            counts.byKey[key] = count
        }
    }

    /// Keeps the rate-limit headers of a provider's answer (the latest per
    /// key), written with the next flush. Answers without such headers cost
    /// a look at each header name's first byte.
    func observeRateLimits(keyID: String, headers: HTTPHeaders) {
        guard let seen = RateLimitHeadroom.parse(headers.lazy.map { ($0.name, $0.value) }, at: .now(), source: "gateway") else { return }
        rateLimits.withLockedValue { $0[keyID] = seen }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                await self.flush()
            }
        }
        await flush()
    }

    /// Writes what was counted since the last flush.
    func flush() async {
        let now = Timestamp.now()
        let batch = counts.withLockedValue { counts -> [GatewayTrafficCount] in
            defer { counts = (now, [:]) }
            return counts.byKey.values.map { var count = $0; count.until = now; return count }
        }
        let limits = rateLimits.withLockedValue { limits in
            defer { limits = [:] }
            return limits
        }
        guard !batch.isEmpty || !limits.isEmpty, let vault = state.current else { return }
        let cache = state.cache
        // Not cancellable: the last flush runs while the agent shuts down.
        let failure: (any Error)? = await withCheckedContinuation { done in
            pool.submit { _ in
                do {
                    try cache.observingOwnCommit { observer in try vault.recordGatewayTraffic(batch, rateLimits: limits, observer: observer) }
                    done.resume(returning: nil)
                } catch {
                    done.resume(returning: error)
                }
            }
        }
        if let failure { logger.error("gateway: could not record traffic of \(batch.count) keys: \(failure)") }
        await flushNetworkIncidents(vault)
    }

    /// The network outcome a gateway outcome is, if any.
    static func networkOutcome(_ outcome: GatewayOutcome) -> ValidationOutcome? {
        switch outcome {
        case .dnsError: .dnsError
        case .connectError: .connectError
        case .tlsError: .tlsError
        case .proxyError: .proxyError
        case .timeout: .timeout
        default: nil
        }
    }

    /// Writes the network incidents counted since the last flush (no key's state changes).
    private func flushNetworkIncidents(_ vault: Vault) async {
        let trouble = network.withLockedValue { seen in
            defer { seen = [:] }
            return seen.flatMap { keyID, outcomes in outcomes.map { GatewayNetworkTrouble(keyID: keyID, outcome: $0.key, requests: $0.value) } }
        }
        guard !trouble.isEmpty else { return }
        let failure: (any Error)? = await withCheckedContinuation { done in
            pool.submit { _ in
                do {
                    try vault.recordGatewayNetworkIncidents(trouble)
                    done.resume(returning: nil)
                } catch {
                    done.resume(returning: error)
                }
            }
        }
        if let failure { logger.error("gateway: could not record network incidents: \(failure)") }
    }
}

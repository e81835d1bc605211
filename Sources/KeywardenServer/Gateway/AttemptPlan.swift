import Foundation
import HTTPTypes
import KeywardenCore
import NIOCore
import NIOHTTP1

/// The decisions of one client request's attempts on the pool's keys, in
/// one place for both ways a request travels: ``ForwardedRequest`` (async,
/// AsyncHTTPClient) and ``FastForwarding`` (on the event loop, the gateway's
/// own upstream connections). Each path sends, waits and writes in its own
/// way; what an answer means — which key next, whether to wait and retry,
/// what is counted — is decided here, so the two cannot drift apart.
///
/// Every decision is taken before the answer's head is handed to the
/// client: no byte the client has seen is ever sent twice.
struct AttemptPlan {
    /// What the request does after an attempt.
    enum Next: Equatable {
        /// Send again at once on the next member (a failover, or a rate-limited key's neighbour).
        case tryNext
        /// Send again after `after` seconds (transient failure, full-jitter backoff).
        case retry(after: Double)
        /// Pass the last answer (or failure) on to the client.
        case giveUp
    }

    /// What an answer's head says before its body is read.
    enum Head {
        /// A 2xx: streamed to the client as it comes.
        case success
        /// A 3xx: never followed; the client gets this refusal instead.
        case redirect(GatewayRefusal)
        /// Anything else: read (up to ``ForwardedRequest/errorBodyLimit``) and classify with ``afterAnswer(status:headers:body:seconds:index:)``.
        case classify
    }

    static let maxAttempts = 5

    let gateway: Gateway
    let serving: ServingPool
    let caller: GatewayCaller
    let method: String
    /// The path after `/{provider}`, for audit details.
    let remainder: String
    let budgetEnd: NIODeadline
    private(set) var excluded = Set<Int>()
    private var transientRetries = 0
    private var resentAfterRefusal = false
    private(set) var attempts = 0

    init(gateway: Gateway, serving: ServingPool, caller: GatewayCaller, method: String, remainder: String, arrived: NIODeadline) {
        self.gateway = gateway
        self.serving = serving
        self.caller = caller
        self.method = method
        self.remainder = remainder
        budgetEnd = arrived + gateway.settings.retryBudget
    }

    private var provider: ProviderDefinition { serving.pool.provider }

    /// The member the next attempt uses, counted as an attempt; nil when
    /// the attempts are spent or no member may serve.
    mutating func nextMember(now: NIODeadline = .now()) -> Int? {
        guard attempts < Self.maxAttempts, let index = serving.pick(excluding: excluded, now: now) else { return nil }
        attempts += 1
        return index
    }

    /// After an attempt that got no answer head (connect error, timeout, a
    /// connection closed): `failure` is what the client gets if nothing follows.
    mutating func afterFailure(_ failure: GatewayRefusal, runtime: KeyRuntime) -> Next {
        runtime.counters.attempt(failure.outcome, seconds: nil)
        if failure.outcome.isTransient, let wait = retryWait(outcome: failure.outcome, headers: []) {
            runtime.counters.retry(failure.outcome.rawValue)
            transientRetries += 1
            return .retry(after: wait)
        }
        return .giveUp
    }

    /// An answer's head arrived after `seconds`: its rate-limit headers are
    /// kept, a 2xx counts as the key's success, a redirect is refused.
    func received(status: Int, headers: HTTPHeaders, seconds: Double, runtime: KeyRuntime) -> Head {
        gateway.traffic.observeRateLimits(keyID: runtime.keyID, headers: headers)
        if (200...299).contains(status) {
            runtime.counters.attempt(.ok, seconds: seconds)
            runtime.succeeded()
            return .success
        }
        guard (300...399).contains(status) else { return .classify }
        runtime.counters.attempt(.unexpected, seconds: seconds)
        // The host only: a redirect may echo the query, and with it a key sent as `?key=`.
        let location = headers.first(name: "location").flatMap { URLComponents(string: $0)?.host }.map { " to \($0)" } ?? ""
        return .redirect(GatewayRefusal(status: .badGateway, kind: "unexpected",
                                        "\(provider.name) answered HTTP \(status) (a redirect\(location)); the gateway does not follow redirects, so the key was not sent there",
                                        final: true, outcome: .unexpected))
    }

    /// The refusal for an error answer whose body could not be read (too
    /// big to be an error document, or broken): passed on by status alone.
    func unreadableBody(status: Int, seconds: Double, runtime: KeyRuntime) -> GatewayRefusal {
        runtime.counters.attempt(.unexpected, seconds: seconds)
        return GatewayRefusal(status: .badGateway, kind: "unexpected", "\(provider.name) answered HTTP \(status) with a body the gateway could not read", outcome: .unexpected)
    }

    /// After a non-2xx, non-3xx answer of member `index`, its body read:
    /// classified with `validate`'s rules; a refused key is recorded and
    /// the request sent once more on the next healthy key; a rate-limited
    /// key rests and a spreading pool tries the next; transient answers
    /// are retried with backoff within the retry budget.
    mutating func afterAnswer(status: Int, headers: [(String, String)], body: [UInt8], seconds: Double, index: Int) -> (outcome: GatewayOutcome, next: Next) {
        let runtime = serving.runtimes[index]
        let (outcome, _) = GatewayClassifier.classify(status: status, headers: headers, body: body, provider: provider)
        runtime.counters.attempt(outcome, seconds: seconds)
        switch outcome {
        case .invalid, .forbidden, .noCredit:
            gateway.recordRejection(member: serving.pool.members[index], runtime: runtime, pool: serving.pool, outcome: outcome, status: status, method: method,
                                    path: String(remainder.prefix(200)), caller: caller)
            excluded.insert(index)
            if !resentAfterRefusal, serving.nextAfterRefusal(excluding: excluded, now: .now()) != nil {
                resentAfterRefusal = true
                runtime.counters.failover()
                return (outcome, .tryNext)
            }
        case .rateLimited:
            let consecutive = runtime.rateLimited()
            runtime.coolDown(for: GatewayRetry.cooldown(headers: headers, consecutive: consecutive), now: .now())
            excluded.insert(index)
            if serving.hasUsable(excluding: excluded, now: .now()) { return (outcome, .tryNext) }
        default:
            if let wait = retryWait(outcome: outcome, headers: headers) {
                runtime.counters.retry(outcome.isTransient ? outcome.rawValue : "x_should_retry")
                transientRetries += 1
                return (outcome, .retry(after: wait))
            }
        }
        return (outcome, .giveUp)
    }

    /// Counts the request, by the outcome of the attempt that answered (a
    /// streamed answer counts when its stream ends).
    func count(_ outcome: GatewayOutcome, runtime: KeyRuntime) {
        runtime.counters.request(outcome)
        gateway.traffic.count(keyID: runtime.keyID, caller: caller, outcome: outcome)
    }

    /// The answer when no attempt got anywhere: no member could serve.
    func noKeyCanServe() -> GatewayRefusal {
        gateway.metrics.keylessRequest(provider: provider.name, outcome: .refused)
        return GatewayRefusal(status: .serviceUnavailable, kind: "unavailable", "no \(provider.name) key of scope \(serving.pool.scope) can serve now (every key failed or is resting)")
    }

    private func retryWait(outcome: GatewayOutcome, headers: [(String, String)]) -> Double? {
        guard let wait = GatewayRetry.transientWait(outcome: outcome, headers: headers, retry: transientRetries, random: Double.random(in: 0..<1)) else { return nil }
        return NIODeadline.now() + .nanoseconds(Int64(wait * 1e9)) < budgetEnd ? wait : nil
    }
}

import Foundation
import KeywardenCrypto
import NIOCore

/// A key to check: its metadata, its provider and its value.
public struct KeyToCheck: Sendable {
    public var key: KeyInfo
    public var provider: ProviderDefinition
    public var value: SecureBytes

    public init(key: KeyInfo, provider: ProviderDefinition, value: SecureBytes) {
        self.key = key
        self.provider = provider
        self.value = value
    }
}

/// Checks keys against their providers: concurrently (at most `concurrency`
/// in flight, and at most `perProvider` per provider), each within its own
/// `timeout` including retries, retrying only transient outcomes.
public struct Validator: Sendable {
    public var client: ProbeClient
    public var retry: RetryPolicy
    public var timeout: TimeAmount
    public var concurrency: Int
    public var perProvider: Int
    /// Sleeps between attempts; tests shorten it.
    public var sleep: @Sendable (Double) async -> Void

    public init(client: ProbeClient, retry: RetryPolicy = RetryPolicy(), timeout: TimeAmount = .seconds(15),
                concurrency: Int = 8, perProvider: Int? = nil,
                sleep: @escaping @Sendable (Double) async -> Void = { seconds in try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9)) }) {
        self.client = client
        self.retry = retry
        self.timeout = timeout
        self.concurrency = max(1, concurrency)
        self.perProvider = max(1, perProvider ?? concurrency)
        self.sleep = sleep
    }

    /// Checks every key; results come back in the order given. The checks
    /// share kept-alive connections (the client's pool, else one for this
    /// run, closed when it ends), so keys of one provider go over a handful
    /// of connections instead of one each. Pass the keys with `consume`:
    /// each key's guarded memory is then freed as soon as its check ends,
    /// while the others run, not all at once after the last.
    public func check(_ keys: consuming [KeyToCheck], progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) async -> [KeyCheck] {
        guard client.pool == nil else { return await checkConcurrently(keys, progress: progress) }
        let pool = ProbeConnectionPool(maxIdlePerTarget: concurrency)
        var pooled = self
        pooled.client.pool = pool
        let results = await pooled.checkConcurrently(keys, progress: progress)
        await pool.close()
        return results
    }

    private func checkConcurrently(_ keys: consuming [KeyToCheck], progress: @escaping @Sendable (Int, Int) -> Void) async -> [KeyCheck] {
        var unstarted = keys
        let count = unstarted.count
        let global = AsyncLimiter(concurrency)
        // A provider's limit at or above the global one never binds: skip it.
        var perProviderLimiters: [String: AsyncLimiter] = [:]
        for key in unstarted where perProvider < concurrency && perProviderLimiters[key.provider.name] == nil {
            perProviderLimiters[key.provider.name] = AsyncLimiter(perProvider)
        }
        let counter = Counter()
        let templates = ProbeRequestTemplates(unstarted.lazy.map(\.provider))
        return await withTaskGroup(of: (Int, KeyCheck).self) { group in
            for (index, item) in unstarted.enumerated() {
                let providerLimiter = perProviderLimiters[item.provider.name]
                group.addTask {
                    // A slot is held only while a request is in flight, not
                    // while a key waits to retry, so waiting keys never hold
                    // up the others.
                    let result = await checkOne(item, request: templates.request(for: item),
                                                slot: { await providerLimiter?.acquire(); await global.acquire() },
                                                release: { await global.release(); await providerLimiter?.release() })
                    progress(await counter.increment(), count)
                    return (index, result)
                }
            }
            // From here each key is held only by its own task.
            unstarted = []
            var results = [KeyCheck?](repeating: nil, count: count)
            for await (index, result) in group { results[index] = result }
            return results.map { $0! }
        }
    }

    /// Checks one key, with retries, within `timeout`. `slot`/`release`
    /// bracket each request (the caller's concurrency limits).
    public func checkOne(_ item: KeyToCheck, slot: @Sendable () async -> Void = {}, release: @Sendable () async -> Void = {}) async -> KeyCheck {
        await checkOne(item, request: Result { () throws(KeywardenError) in try ProbeRequest.make(provider: item.provider, key: item.value) },
                       slot: slot, release: release)
    }

    func checkOne(_ item: KeyToCheck, request made: Result<ProbeRequest, KeywardenError>, slot: @Sendable () async -> Void,
                  release: @Sendable () async -> Void) async -> KeyCheck {
        let request: ProbeRequest
        switch made {
        case .success(let built): request = built
        case .failure(let error):
            return result(item, host: URLComponents(string: item.provider.baseURL)?.host, outcome: .unexpected, status: nil, stage: nil,
                          started: .now(), attempts: 0, reason: error.message, fix: nil)
        }
        // The time limit and the latency start when the key gets its first
        // slot, not while it waits behind other keys.
        await slot()
        let started = NIODeadline.now()
        let deadline = started + timeout
        var attempt = 0
        while true {
            attempt += 1
            if attempt > 1 { await slot() }
            let remaining = deadline - NIODeadline.now()
            let answer = await client.send(request, timeout: remaining)
            await release()
            let outcome: ValidationOutcome, reason: String, fix: String?, status: Int?, stage: ProbeStage?
            var response: ProbeResponse?
            switch answer {
            case .success(let r):
                response = r
                let classification = Self.classify(r, provider: item.provider)
                (outcome, reason, fix, status, stage) = (classification.outcome, classification.reason, classification.fix, r.status, nil)
            case .failure(let failure):
                (outcome, reason, fix, status, stage) = (failure.outcome, failure.detail, Self.fix(for: failure), nil, failure.stage)
            }
            if let wait = retry.delay(after: attempt, outcome: outcome, response: response),
               NIODeadline.now() + .nanoseconds(Int64(wait * 1e9)) < deadline {
                await sleep(wait)
                continue
            }
            var finalReason = reason
            if outcome == .rateLimited, let hinted = RetryPolicy.retryAfter(response), hinted > retry.maxRetryAfter {
                finalReason += "; the provider asks to retry after \(Int(hinted)) s"
            }
            var check = result(item, host: request.host, outcome: outcome, status: status, stage: stage, started: started, attempts: attempt,
                               reason: finalReason, fix: fix)
            if let response {
                (check.balance, check.rateLimits) = await headroom(of: item, request: request, answer: response, outcome: outcome,
                                                                   deadline: deadline, slot: slot, release: release)
            }
            return check
        }
    }

    /// Classifies an answer with the provider's rules; redirects are never followed.
    public static func classify(_ response: ProbeResponse, provider: ProviderDefinition) -> Classification {
        if (300...399).contains(response.status) {
            let location = response.header("location") ?? "nowhere"
            return Classification(outcome: .unexpected, reason: "HTTP \(response.status) redirect to \(location); not followed, the key was not sent there",
                                  fix: "check the provider's base URL (`keywarden provider show \(provider.name)`)")
        }
        var classification = OutcomeClassifier.classify(status: response.status, body: response.body, rules: provider.effectiveRules)
        if classification.fix == nil, [.invalid].contains(classification.outcome), let console = provider.consoleURL {
            classification.fix = "create a new key at \(console) and store it with `keywarden key add \(provider.name)`"
        }
        return classification
    }

    static func fix(for failure: ProbeFailure) -> String {
        switch failure.outcome {
        case .dnsError: "check the host name (`keywarden provider show`), your DNS server (/etc/resolv.conf) and network; run `keywarden doctor`"
        case .connectError: "the host refused or dropped the connection: check firewalls, the port, and the provider's status page; run `keywarden doctor`"
        case .tlsError: "check the system clock, the CA bundle (a TLS-inspecting proxy needs its CA trusted), and the host name; run `keywarden doctor`"
        case .timeout: "the provider or network is slow or unreachable: retry, raise --timeout, check the proxy; run `keywarden doctor`"
        case .proxyError: "check HTTPS_PROXY / NO_PROXY and that the proxy is up and allows CONNECT; run `keywarden doctor`"
        default: "run `keywarden doctor`"
        }
    }

    private func result(_ item: KeyToCheck, host: String?, outcome: ValidationOutcome, status: Int?, stage: ProbeStage?, started: NIODeadline,
                        attempts: Int, reason: String, fix: String?) -> KeyCheck {
        KeyCheck(id: item.key.id, provider: item.key.provider, scope: item.key.scope, label: item.key.label, hint: item.key.hint,
                 fingerprint: item.key.fingerprint, outcome: outcome, status: status, stage: stage,
                 latencyMs: Double((NIODeadline.now() - started).nanoseconds) / 1e6, attempts: attempts, reason: reason, fix: fix,
                 checkedAt: Timestamp.now(), host: host)
    }
}

extension ProviderDefinition {
    /// The provider's own rules (declared, else built in), before the generic
    /// ones. A user-defined provider's are followed by ``CustomProviderRules``
    /// (relay gateways' bodies, credit wording), so the status alone decides last.
    public var effectiveRules: [OutcomeRule] {
        if BuiltinProviders.provider(named: name) != nil { return rules ?? BuiltinRules.rules(for: name) }
        return (rules ?? []) + CustomProviderRules.all
    }
}

/// A counting semaphore for tasks.
actor AsyncLimiter {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ limit: Int) { available = limit }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            available += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

actor Counter {
    private var value = 0
    func increment() -> Int {
        value += 1
        return value
    }
}

import Foundation
import KeywardenCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// What the gateway knows of one key between vault reads: requests in
/// flight, a rate-limit cooldown, and whether traffic found it failed before
/// the vault says so. It outlives pool snapshots (a reload keeps the key's
/// cooldown); its counters are the key's metrics.
final class KeyRuntime: Sendable {
    struct State {
        var inFlight = 0
        var coolingUntil: NIODeadline?
        var consecutiveRateLimits = 0
        /// Traffic found the key refused; until the vault's next snapshot shows
        /// its new state, no request picks it.
        var markedFailed = false
        /// A rejection is being confirmed and recorded: later ones are only audited.
        var rejectionPending = false
    }

    let keyID: String
    let counters: GatewayMetrics.KeyCounters
    let state = NIOLockedValueBox(State())

    init(keyID: String, counters: GatewayMetrics.KeyCounters) {
        self.keyID = keyID
        self.counters = counters
    }

    func usable(at now: NIODeadline) -> Bool {
        state.withLockedValue { !$0.markedFailed && ($0.coolingUntil.map { $0 <= now } ?? true) }
    }

    func begin() {
        state.withLockedValue { $0.inFlight += 1 }
        counters.inFlight(1)
    }

    func end() {
        state.withLockedValue { $0.inFlight -= 1 }
        counters.inFlight(-1)
    }

    /// Rests the key for `seconds` after a rate limit.
    func coolDown(for seconds: Double, now: NIODeadline) {
        state.withLockedValue { $0.coolingUntil = now + .nanoseconds(Int64(seconds * 1e9)) }
        counters.cooldown(cooling: true)
    }

    /// Counts a 429 and returns how many came in a row.
    func rateLimited() -> Int { state.withLockedValue { $0.consecutiveRateLimits += 1; return $0.consecutiveRateLimits } }

    func succeeded() {
        let wasCooling = state.withLockedValue { state -> Bool in
            state.consecutiveRateLimits = 0
            defer { state.coolingUntil = nil }
            return state.coolingUntil != nil
        }
        if wasCooling { counters.cooldown(cooling: false) }
    }

    /// Marks the key failed; true when this is the first rejection to record.
    func markFailed() -> Bool {
        state.withLockedValue { state in
            state.markedFailed = true
            defer { state.rejectionPending = true }
            return !state.rejectionPending
        }
    }

    func rejectionRecorded() { state.withLockedValue { $0.rejectionPending = false } }

    var inFlight: Int { state.withLockedValue { $0.inFlight } }
    var isMarkedFailed: Bool { state.withLockedValue { $0.markedFailed } }
    var coolingUntil: NIODeadline? { state.withLockedValue { $0.coolingUntil } }
}

/// One pool as the gateway serves it: the vault's snapshot (decrypted keys,
/// policy) and each member's runtime.
final class ServingPool: Sendable {
    let pool: GatewayPool
    let runtimes: [KeyRuntime]
    /// The provider's base URL, parsed once (or why it cannot carry a key).
    let base: Result<UpstreamRequest.Base, GatewayRefusal>
    private let cursor = NIOLockedValueBox(0)

    init(pool: GatewayPool, runtimes: [KeyRuntime]) {
        self.pool = pool
        self.runtimes = runtimes
        base = Result { () throws(GatewayRefusal) in try UpstreamRequest.Base(provider: pool.provider) }
    }

    /// The member to try next, never one in `excluded`:
    /// - no spread: the active key, whatever its state (there is nowhere
    ///   else to go, and the provider's own answer tells the client the truth),
    ///   unless traffic found it failed and failover offers a standby;
    /// - round-robin: the next usable member in turn;
    /// - least-in-flight: the usable member with the fewest requests in flight.
    /// With every member resting, the one whose cooldown ends first.
    func pick(excluding excluded: Set<Int>, now: NIODeadline) -> Int? {
        let candidates = runtimes.indices.filter { !excluded.contains($0) }
        guard !candidates.isEmpty else { return nil }
        guard let spread = pool.spread else {
            if !excluded.contains(0), !runtimes[0].isMarkedFailed || !pool.failover { return 0 }
            guard pool.failover else { return nil }
            // No standby left: the active key after all, so the client gets the provider's own answer.
            return candidates.first { $0 != 0 && !runtimes[$0].isMarkedFailed } ?? (excluded.contains(0) ? nil : 0)
        }
        let usable = candidates.filter { runtimes[$0].usable(at: now) }
        if usable.isEmpty {
            let resting = candidates.filter { !runtimes[$0].isMarkedFailed }
            return resting.min { (runtimes[$0].coolingUntil ?? now) < (runtimes[$1].coolingUntil ?? now) }
        }
        switch spread {
        case .roundRobin:
            // In turn over the keys usable now, so a resting key's share
            // goes evenly to the others.
            let turn = cursor.withLockedValue { value -> Int in
                defer { value &+= 1 }
                return value
            }
            return usable[Int(UInt(bitPattern: turn) % UInt(usable.count))]
        case .leastInFlight:
            return usable.min { runtimes[$0].inFlight < runtimes[$1].inFlight }
        }
    }

    /// Another member for a request a key's refusal left unprocessed: any
    /// usable one in a spreading pool; otherwise the standby failover would
    /// promote (only when the pool fails over).
    func nextAfterRefusal(excluding excluded: Set<Int>, now: NIODeadline) -> Int? {
        guard pool.spread != nil || pool.failover else { return nil }
        return runtimes.indices.first { !excluded.contains($0) && runtimes[$0].usable(at: now) }
    }

    /// Whether a usable member is left for a rate-limited request in a spreading pool.
    func hasUsable(excluding excluded: Set<Int>, now: NIODeadline) -> Bool {
        pool.spread != nil && runtimes.indices.contains { !excluded.contains($0) && runtimes[$0].usable(at: now) }
    }
}

/// The gateway's pools by (provider, scope), read from the vault on first
/// use and again whenever the vault changed other than by the agent's own
/// audit commits (``ActiveKeyCache/generation()``): a rotation, a failover
/// or a new key shows on the next request, while refusals and traffic
/// records do not empty it. Key runtimes survive reloads.
final class GatewayPools: Sendable {
    private struct Key: Hashable {
        var provider: String
        var scope: String
    }

    private struct State {
        var generation: Int?
        var pools: [Key: ServingPool] = [:]
        var runtimes: [String: KeyRuntime] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let cache: ActiveKeyCache
    private let metrics: GatewayMetrics

    init(cache: ActiveKeyCache, metrics: GatewayMetrics) {
        self.cache = cache
        self.metrics = metrics
    }

    /// The pool serving `provider` for `scope`, loaded through `load` (vault
    /// work, on the agent's pool) when not held or the vault changed.
    func pool(provider: String, scope: String, load: @Sendable () async throws -> GatewayPool) async throws -> ServingPool {
        let generation = cache.generation()
        let key = Key(provider: provider, scope: scope)
        let held = state.withLockedValue { state -> ServingPool? in
            if state.generation != generation {
                state.pools.removeAll()
                state.generation = generation
                return nil
            }
            return state.pools[key]
        }
        if let held { return held }
        let loaded = try await load()
        return state.withLockedValue { state in
            let runtimes = loaded.members.map { member in
                let runtime = state.runtimes[member.key.id] ?? {
                    let made = KeyRuntime(keyID: member.key.id, counters: metrics.counters(provider: loaded.provider.name, scope: member.key.scope, keyID: member.key.id))
                    state.runtimes[member.key.id] = made
                    return made
                }()
                // The vault's snapshot now shows the key's recorded state: an
                // active key found bad (standbys are listed healthy only) stays out.
                let recordedBad = member.key.outcome.flatMap(ValidationOutcome.init(rawValue:))?.callsForFailover ?? false
                runtime.state.withLockedValue { if !$0.rejectionPending { $0.markedFailed = recordedBad } }
                return runtime
            }
            let serving = ServingPool(pool: loaded, runtimes: runtimes)
            if state.generation == generation { state.pools[key] = serving }
            return serving
        }
    }

    /// The pool serving `provider` for `scope` if it is held for the vault's
    /// state `generation` (``ActiveKeyCache/generation()``, read by the
    /// caller), without loading it: nil on a miss.
    func held(provider: String, scope: String, generation: Int) -> ServingPool? {
        state.withLockedValue { state in
            state.generation == generation ? state.pools[Key(provider: provider, scope: scope)] : nil
        }
    }

    func removeAll() {
        state.withLockedValue { $0.pools.removeAll() }
    }
}

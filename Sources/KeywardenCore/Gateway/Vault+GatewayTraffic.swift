import Foundation

extension Vault {
    /// How long `key_traffic` keeps its hourly counts.
    static let gatewayTrafficRetention: Int64 = 7 * 24 * 3600

    /// Records the gateway's aggregated traffic, in one transaction: for each
    /// count with requests, a `gateway.forward` event naming the key, its
    /// fingerprint and the caller, and the counts added to the key's row of
    /// `key_traffic` for the hour `until` falls in. Rows older than 7 days are
    /// pruned. A count whose key was removed meanwhile is dropped.
    ///
    /// Outcome of the event: `ok` when no request failed for the key or
    /// errored (a rate limit is the provider throttling, not a failure),
    /// else `failed`; the detail has every class.
    ///
    /// `rateLimits`: the last rate-limit headers seen per key id, stored as
    /// the key's headroom in the same transaction.
    public func recordGatewayTraffic(_ counts: [GatewayTrafficCount], rateLimits: [String: RateLimitHeadroom] = [:],
                                     observer: CommitObserver? = nil) throws(KeywardenError) {
        let counts = counts.filter { $0.total > 0 }
        // An idle flush writes nothing (pruning waits for the next counts).
        guard !counts.isEmpty || !rateLimits.isEmpty else { return }
        try write(mode: .verify, observer: observer) { tx in
            for (keyID, seen) in rateLimits.sorted(by: { $0.key < $1.key }) {
                // A key removed meanwhile has no row to hold its headroom.
                guard try tx.key(id: keyID) != nil else { continue }
                try tx.recordRateLimits(keyID: keyID, seen)
            }
            guard !counts.isEmpty else { return }
            var events: [AuditDraft] = []
            for count in counts {
                guard let key = try tx.key(id: count.keyID) else { continue }
                let detail = "\(count.total) request\(count.total == 1 ? "" : "s") (ok \(count.ok), failed \(count.failed), "
                    + "rate-limited \(count.rateLimited), errors \(count.errors)) between \(count.since) and \(count.until)"
                events.append(AuditDraft(action: "gateway.forward", provider: key.provider, scope: key.scope, keyID: key.id,
                                         fingerprint: key.fingerprint, outcome: count.failed == 0 && count.errors == 0 ? "ok" : "failed",
                                         detail: detail, actor: count.caller))
                try tx.addTraffic(KeyTrafficRecord(keyId: key.id, hour: count.until.startOfHour, counts: KeyTraffic(
                    ok: count.ok, failed: count.failed, rateLimited: count.rateLimited, errors: count.errors)))
            }
            try appendAudit(batch: events, tx)
            try tx.pruneTraffic(beforeHour: now.adding(seconds: -Self.gatewayTrafficRetention).startOfHour)
        }
    }

    /// Every key's gateway traffic in the last 24 hours (the hour 24 hours
    /// ago included, so 25 hourly rows at most); nil when there was none.
    public func gatewayTraffic24h() throws(KeywardenError) -> KeyTraffic? {
        try read { tx in try gatewayTraffic24h(tx) }
    }

    func gatewayTraffic24h(_ tx: any StoreReading) throws -> KeyTraffic? {
        let total = try tx.trafficTotal(fromHour: trafficWindowStart)
        return total.total > 0 ? total : nil
    }

    /// Each key's gateway traffic in the last 24 hours, by key id.
    func gatewayTrafficByKey24h(_ tx: any StoreReading) throws -> [String: KeyTraffic] {
        try tx.trafficByKey(fromHour: trafficWindowStart)
    }

    /// The first hour of the last-24-hours view.
    var trafficWindowStart: Timestamp { now.adding(seconds: -24 * 3600).startOfHour }
}

extension Timestamp {
    /// The start of the UTC hour this time falls in.
    var startOfHour: Timestamp {
        let hour: Int64 = 3_600_000
        let ms = millisecondsSince1970
        return Timestamp(millisecondsSince1970: ms - ((ms % hour) + hour) % hour)
    }
}

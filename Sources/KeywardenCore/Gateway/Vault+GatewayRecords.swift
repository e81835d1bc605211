import Foundation

/// One auth failure the gateway saw: which key, what the provider said,
/// for whom, and whether a probe of the key confirmed it.
public struct GatewayRejection: Sendable {
    public var keyID: String
    public var outcome: GatewayOutcome
    public var status: Int
    /// `HTTP 401 from anthropic for POST /v1/messages` (method and path, never the query or a header).
    public var detail: String
    /// Who sent the request.
    public var caller: AuditActor
    /// nil: not probed (no-credit answers are taken as they are); true: the probe
    /// found the key bad too; false: the probe found it valid, so the request's own
    /// headers were at fault and the key's state is left alone.
    public var confirmed: Bool?

    public init(keyID: String, outcome: GatewayOutcome, status: Int, detail: String, caller: AuditActor, confirmed: Bool?) {
        self.keyID = keyID
        self.outcome = outcome
        self.status = status
        self.detail = detail
        self.caller = caller
        self.confirmed = confirmed
    }
}

extension GatewayRejection {
    /// The detail for a rejection: `HTTP 401 from anthropic for POST /v1/messages`.
    /// The path is cut at `?` or `#`: a query may carry the key (Gemini's `?key=`).
    public static func detail(status: Int, provider: String, method: String, path: String) -> String {
        let bare = path.prefix { $0 != "?" && $0 != "#" }
        return "HTTP \(status) from \(provider) for \(method) \(bare.isEmpty ? "/" : bare)"
    }
}

extension Vault {
    /// Records an auth failure seen in gateway traffic, in one transaction:
    /// the key's last outcome, a `gateway.reject` event naming the key, its
    /// fingerprint, the status and the caller, and — when the key is active
    /// and its pool fails over — the promotion of the next healthy standby
    /// (`key.failover`), as a client's report would. A rejection the probe
    /// disconfirmed is audited but changes no key. Returns the promoted key's id.
    ///
    /// Only an auth failure (`invalid`, `forbidden`, `no_credit`) changes the
    /// key; any other outcome is audited alone. A key removed meanwhile is
    /// skipped. The texts are stored without the key's value, should the
    /// detail or the caller's name echo it.
    @discardableResult
    public func recordGatewayRejection(_ rejection: GatewayRejection, observer: CommitObserver? = nil) throws(KeywardenError) -> String? {
        try write(mode: .verify, observer: observer) { tx in
            guard var record = try tx.key(id: rejection.keyID) else { return nil }
            let probe = switch rejection.confirmed {
            case .some(false): "; not confirmed by a probe of the key, so its state is left alone (the request's own headers, model or size may be at fault)"
            case .some(true): "; a probe confirmed it"
            case nil: ""
            }
            let scrub = try valueScrubber(for: record)
            var caller = rejection.caller
            caller.name = scrub(caller.name)
            let detail = String(scrub(rejection.detail).prefix(500))  // scrubbed before cut: no half key left
            try appendAudit(AuditDraft(action: "gateway.reject", provider: record.provider, scope: record.scope, keyID: record.id,
                                       fingerprint: record.fingerprint, outcome: rejection.outcome.rawValue,
                                       detail: detail + probe, actor: caller), tx)
            guard rejection.confirmed != false, rejection.outcome.isAuthFailure, let outcome = rejection.outcome.validationOutcome else { return nil }
            record.lastOutcome = outcome
            record.lastCheckedAt = now
            record.lastDetail = DisplayText.sanitized("gateway: \(detail) (uid \(caller.uid), pid \(caller.pid), \(caller.name))")
            record.updatedAt = now
            try tx.update(record)
            guard try failsOver(record, after: outcome, tx), let standby = try healthyStandby(record.pool, tx) else { return nil }
            try promote(standby, replacing: record, reason: "gateway: \(detail) for \(caller.name)", tx)
            return standby.id
        }
    }

    /// Replaces the key's value, wherever free text echoes it, with `[key]`.
    private func valueScrubber(for record: KeyRecord) throws -> (String) -> String {
        let value = try open(nonce: record.nonce, ciphertext: record.ciphertext, for: RowBinding(key: record))
        let text = value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        return { text.isEmpty ? $0 : $0.replacingOccurrences(of: text, with: "[key]") }
    }
}

/// Counts of the gateway's traffic for one key and caller over a period,
/// for the aggregated `gateway.forward` event and the 24-hour view.
public struct GatewayTrafficCount: Sendable, Equatable {
    public var keyID: String
    public var caller: AuditActor
    public var ok = 0
    public var failed = 0
    public var rateLimited = 0
    public var errors = 0
    public var since: Timestamp
    public var until: Timestamp

    public init(keyID: String, caller: AuditActor, since: Timestamp, until: Timestamp) {
        self.keyID = keyID
        self.caller = caller
        self.since = since
        self.until = until
    }

    public var total: Int { ok + failed + rateLimited + errors }
}

import Foundation
import KeywardenCrypto

/// A client's report that a key failed (or worked): by id, by fingerprint, or
/// by the value itself — which is only hashed, never stored or logged.
public struct KeyReport: Sendable {
    public var keyID: String?
    public var fingerprint: String?
    public var value: SecureBytes?
    public var status: Int
    public var detail: String?

    public init(keyID: String? = nil, fingerprint: String? = nil, value: SecureBytes? = nil, status: Int, detail: String? = nil) {
        self.keyID = keyID
        self.fingerprint = fingerprint
        self.value = value
        self.status = status
        self.detail = detail
    }
}

/// What a report did.
public struct ReportResult: Codable, Sendable {
    public var keyID: String
    public var provider: String
    public var scope: String
    public var outcome: ValidationOutcome
    /// The standby key that took over, when failover happened.
    public var replacedBy: String?
    public var message: String

    enum CodingKeys: String, CodingKey {
        case keyID = "key_id", provider, scope, outcome, replacedBy = "replaced_by", message
    }
}

extension Vault {
    /// The outcome a client's HTTP status means.
    public static func outcome(forReportedStatus status: Int) -> ValidationOutcome {
        switch status {
        case 200...299: .valid
        case 401: .invalid
        case 403: .forbidden
        case 402: .noCredit
        case 429: .rateLimited
        case 408: .timeout
        case 500...599: .providerError
        default: .unexpected
        }
    }

    /// Records a report: the key's health, an audit event naming the reporter,
    /// and — when the key is active, cannot serve and its pool's policy has
    /// failover on (``Vault/failsOver(_:after:_:)``) — the promotion of the
    /// pool's next healthy standby key.
    ///
    /// `visible(provider, scope)` says which keys the reporter may touch (an
    /// agent token's grant). Every matching key is checked before anything
    /// changes: a key outside it is left alone and, when none is left, the
    /// answer is the same "not found" as for a key that does not exist.
    public func report(_ report: KeyReport, by reporter: AuditActor, visible: (String, String) -> Bool = { _, _ in true }) throws(KeywardenError) -> [ReportResult] {
        guard (100...599).contains(report.status) else {
            throw KeywardenError(.invalidInput, "invalid status \(report.status): use an HTTP status code (100-599)")
        }
        let sources = [report.keyID != nil, report.fingerprint != nil, report.value != nil].filter { $0 }.count
        guard sources == 1 else {
            throw KeywardenError(.invalidInput, "name the key by exactly one of key_id, fingerprint or value")
        }
        let fingerprint = report.value.map { self.fingerprint(of: $0) } ?? report.fingerprint
        let outcome = Self.outcome(forReportedStatus: report.status)
        return try write { tx in
            var records: [KeyRecord]
            if let id = report.keyID {
                guard let record = try tx.key(id: id), visible(record.provider, record.scope) else { throw KeywardenError.unknownKey(id) }
                records = [record]
            } else {
                records = try tx.keys(KeyQuery(fingerprint: fingerprint!)).filter { visible($0.provider, $0.scope) }
                guard !records.isEmpty else {
                    throw KeywardenError(.notFound, "no stored key has that \(report.value != nil ? "value" : "fingerprint"); it may have been removed or never added")
                }
            }
            var results: [ReportResult] = []
            for var record in records {
                let detail = try sanitized(report.detail, for: record)
                record.lastOutcome = outcome
                record.lastCheckedAt = now
                record.lastDetail = "reported HTTP \(report.status) by \(reporter.name) (uid \(reporter.uid), pid \(reporter.pid))\(detail.map { ": \($0)" } ?? "")"
                record.updatedAt = now
                try tx.update(record)
                try appendAudit(AuditDraft(action: "key.report", provider: record.provider, scope: record.scope, keyID: record.id, fingerprint: record.fingerprint,
                                           outcome: outcome.rawValue, detail: "client reported HTTP \(report.status)\(detail.map { ": \($0)" } ?? "")", actor: reporter), tx)
                if outcome.isNetwork {
                    // A client's time limit says nothing about the key: an incident, no state change.
                    try tx.insert(NetworkIncident(id: Self.newIdentifier(prefix: "ni_"), at: now, provider: record.provider, scope: record.scope, keyID: record.id,
                                                  outcome: outcome, source: "report", verdict: "FAILED: timed out: a client reported HTTP \(report.status)", host: nil))
                }
                var replacedBy: String?
                var message = "recorded \(outcome.rawValue) for \(record.id)"
                if try failsOver(record, after: outcome, tx) {
                    if let standby = try healthyStandby(record.pool, tx) {
                        try promote(standby, replacing: record, reason: "client reported HTTP \(report.status)", tx)
                        replacedBy = standby.id
                        message += "; failover: \(standby.id) is now the active \(record.provider) key of \(record.scope)"
                    } else {
                        message += "; failover is on but no healthy standby key is left in \(record.provider)/\(record.scope)"
                    }
                }
                results.append(ReportResult(keyID: record.id, provider: record.provider, scope: record.scope, outcome: outcome, replacedBy: replacedBy, message: message))
            }
            return results
        }
    }

    /// A client's free text may echo the key (an SDK error message); remove it.
    private func sanitized(_ detail: String?, for record: KeyRecord) throws -> String? {
        guard var detail, !detail.isEmpty else { return nil }
        detail = String(detail.prefix(300))
        let value = try open(nonce: record.nonce, ciphertext: record.ciphertext, for: RowBinding(key: record))
        let text = value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        if !text.isEmpty { detail = detail.replacingOccurrences(of: text, with: "[key]") }
        return DisplayText.sanitized(detail)
    }

    /// The oldest standby key of a pool that has not been found bad.
    func healthyStandby(_ pool: Pool, _ tx: any StoreReading) throws -> KeyRecord? {
        try tx.keys(.pool(pool, states: [.standby], order: .createdAt)).first { Self.isHealthy($0) }
    }

    /// Not found bad: never checked, its last check passed, or its last
    /// check met the network (which says nothing about the key).
    static func isHealthy(_ key: KeyRecord) -> Bool {
        guard let outcome = key.lastOutcome else { return true }
        return outcome == .valid || outcome.isNetwork
    }

    /// Makes `standby` active and marks `failed` as failed, in the caller's
    /// transaction; the outcome just recorded on it is its cause, which
    /// decides whether the agent probes it again (Recovery/).
    func promote(_ standby: KeyRecord, replacing failed: KeyRecord, reason: String, _ tx: any StoreWriting) throws {
        var old = failed
        old.markFailed(because: failed.lastOutcome ?? .unexpected, at: now)
        try tx.update(old)
        var new = standby
        new.state = .active
        new.activatedAt = now
        new.updatedAt = now
        try tx.update(new)
        try appendAudit(AuditDraft(action: "key.failover", provider: new.provider, scope: new.scope, keyID: new.id, fingerprint: new.fingerprint,
                                   outcome: "ok", detail: "\(new.id) replaced \(old.id) (now failed): \(reason)"), tx)
    }
}

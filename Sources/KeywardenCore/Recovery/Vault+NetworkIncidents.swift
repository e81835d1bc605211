/// Network incidents: a check that met DNS, connect, TLS, proxy or timeout
/// trouble says nothing about its key, so the key's state is left alone and
/// the trouble is recorded here instead, for `status` to show.
extension Vault {
    /// Incidents older than this are pruned when new ones are written.
    static let incidentRetention: Int64 = 7 * 86400

    /// Records an incident for each check that met the network, in the
    /// caller's transaction. `verdict` is doctor's verdict line where the
    /// caller has it (doctor itself); otherwise the same wording from the check.
    func recordNetworkIncidents(_ checks: [KeyCheck], source: String, verdict: ((KeyCheck) -> String)? = nil, _ tx: any StoreWriting) throws {
        let incidents = checks.filter(\.outcome.isNetwork)
        guard !incidents.isEmpty else { return }
        for check in incidents {
            try tx.insert(NetworkIncident(id: Self.newIdentifier(prefix: "ni_"), at: now, provider: check.provider, scope: check.scope, keyID: check.id,
                                          outcome: check.outcome, source: source, verdict: DisplayText.sanitized(verdict?(check) ?? NetworkIncident.verdictLine(check)),
                                          host: check.host))
        }
        try tx.pruneNetworkIncidents(before: now.adding(seconds: -Self.incidentRetention))
    }

    /// Records one incident in its own transaction (a client's report, the gateway).
    public func recordNetworkIncident(provider: String, scope: String?, keyID: String?, outcome: ValidationOutcome, source: String,
                                      verdict: String, host: String?) throws(KeywardenError) {
        guard outcome.isNetwork else { return }
        try write { tx in
            try tx.insert(NetworkIncident(id: Self.newIdentifier(prefix: "ni_"), at: now, provider: provider, scope: scope, keyID: keyID,
                                          outcome: outcome, source: source, verdict: DisplayText.sanitized(String(verdict.prefix(500))), host: host))
            try tx.pruneNetworkIncidents(before: now.adding(seconds: -Self.incidentRetention))
        }
    }

    /// Records what the gateway met since its last flush: one incident per
    /// key and network outcome, with how many requests met it. A key removed
    /// meanwhile is skipped.
    public func recordGatewayNetworkIncidents(_ trouble: [GatewayNetworkTrouble]) throws(KeywardenError) {
        let trouble = trouble.filter(\.outcome.isNetwork)
        guard !trouble.isEmpty else { return }
        try write { tx in
            for item in trouble {
                guard let key = try tx.key(id: item.keyID) else { continue }
                let verdict = "\(NetworkIncident.stageLine(item.outcome)): \(item.requests) gateway request\(item.requests == 1 ? "" : "s") to \(key.provider) met \(item.outcome.rawValue); the key was not blamed"
                try tx.insert(NetworkIncident(id: Self.newIdentifier(prefix: "ni_"), at: now, provider: key.provider, scope: key.scope, keyID: key.id,
                                              outcome: item.outcome, source: "gateway", verdict: verdict, host: nil))
            }
            try tx.pruneNetworkIncidents(before: now.adding(seconds: -Self.incidentRetention))
        }
    }

    /// The incidents of the last `seconds` (24 hours unless given), newest first, at most `limit`.
    public func recentNetworkIncidents(within seconds: Int64 = 86400, limit: Int = 20) throws(KeywardenError) -> [NetworkIncident] {
        try read { tx in try tx.networkIncidents(since: now.adding(seconds: -seconds), limit: limit) }
    }
}

/// Requests the gateway sent with one key that met one network outcome.
public struct GatewayNetworkTrouble: Sendable, Equatable {
    public var keyID: String
    public var outcome: ValidationOutcome
    public var requests: Int

    public init(keyID: String, outcome: ValidationOutcome, requests: Int) {
        (self.keyID, self.outcome, self.requests) = (keyID, outcome, requests)
    }
}

extension NetworkIncident {
    /// What met an incident, from the check's name in the audit trail
    /// (`rotate r_…` is a rotation's test, `recovery probe` the agent's probe).
    static func source(_ check: String) -> String {
        if check.hasPrefix("rotate ") { return "rotate" }
        if check == "recovery probe" { return "recovery" }
        return check
    }

    /// The start of doctor's verdict for a network outcome, where no reason is known (the gateway).
    static func stageLine(_ outcome: ValidationOutcome) -> String {
        switch outcome {
        case .proxyError: "FAILED at the proxy"
        case .dnsError: "FAILED at DNS"
        case .connectError: "FAILED at TCP connect"
        case .tlsError: "FAILED at TLS"
        case .timeout: "FAILED: timed out"
        default: outcome.rawValue
        }
    }

    /// Doctor's verdict line for a check that met the network
    /// (``Diagnosis/networkVerdict(_:)``), for checks made without doctor's
    /// stages: validate, the recovery probes, a rotation's test.
    public static func verdictLine(_ check: KeyCheck) -> String {
        Diagnosis.networkVerdict(check) ?? "\(check.outcome.rawValue): \(check.reason)"
    }
}

/// A check or a request that never reached a verdict about its key because
/// the network stood in the way (DNS, connect, TLS, proxy, a time limit).
/// It never changes the key's state; `status` shows the recent ones.
public struct NetworkIncident: Codable, Sendable, Equatable {
    public var id: String
    public var at: Timestamp
    public var provider: String
    public var scope: String?
    public var keyID: String?
    public var outcome: ValidationOutcome
    /// What met it: `validate`, `doctor`, `recovery`, `rotate`, `report`, `gateway`, `key check`.
    public var source: String
    /// `doctor`'s verdict line (`FAILED at DNS: …`).
    public var verdict: String
    /// The host that could not be reached, when known.
    public var host: String?

    enum CodingKeys: String, CodingKey {
        case id, at, provider, scope, keyID = "key_id", outcome, source, verdict, host
    }

    public init(id: String, at: Timestamp, provider: String, scope: String?, keyID: String?, outcome: ValidationOutcome,
                source: String, verdict: String, host: String?) {
        (self.id, self.at, self.provider, self.scope, self.keyID) = (id, at, provider, scope, keyID)
        (self.outcome, self.source, self.verdict, self.host) = (outcome, source, verdict, host)
    }
}

extension ValidationOutcome {
    /// The network stood between the check and the provider: no verdict on
    /// the key, and never a reason to change its state.
    public var isNetwork: Bool {
        switch self {
        case .dnsError, .connectError, .tlsError, .proxyError, .timeout: true
        default: false
        }
    }
}

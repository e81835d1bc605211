/// Operations on a client's report that a key failed.
public enum Reports {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Report.self]

    /// `report`: records what a provider answered for a key (its health and
    /// an audit event naming the reporter) and, when the pool's rotation
    /// policy has failover on, promotes a healthy standby after an auth or
    /// credit failure of the active key.
    public struct Report: ServiceOperation {
        public static let name = "reports.report"
        /// The key, named by exactly one of these.
        public var keyID: String?
        public var fingerprint: String?
        public var value: Secret?
        /// The HTTP status the provider answered.
        public var status: Int
        /// What the provider said; a copy of the key in it is removed.
        public var detail: String?

        enum CodingKeys: String, CodingKey { case keyID = "key_id", fingerprint, value, status, detail }

        public init(keyID: String? = nil, fingerprint: String? = nil, value: Secret? = nil, status: Int, detail: String?) {
            (self.keyID, self.fingerprint, self.value, self.status, self.detail) = (keyID, fingerprint, value, status, detail)
        }

        public func run(in session: ServiceSession) async throws -> [ReportResult] {
            let report = KeyReport(keyID: keyID, fingerprint: fingerprint, value: value, status: status, detail: detail)
            let reporter = session.caller.actor
            return try await session.vault { vault in
                try vault.report(report, by: reporter)
            }
        }
    }

    /// Whether `value` could be the key with `hint` (`sk-ant-…9QxA`: starts
    /// with the part before `…`, ends with the part after). A hint without
    /// `…` tells nothing, so it fits.
    static func fits(_ value: Secret, hint: String) -> Bool {
        guard let ellipsis = hint.range(of: "…") else { return true }
        let prefix = Array(hint[..<ellipsis.lowerBound].utf8), tail = Array(hint[ellipsis.upperBound...].utf8)
        return value.withUnsafeBytes { bytes in
            bytes.count >= prefix.count + tail.count && bytes.starts(with: prefix) && bytes.suffix(tail.count).elementsEqual(tail)
        }
    }
}

extension KeywardenService {
    public func report(_ report: Reports.Report) async throws -> [ReportResult] { try await perform(report) }

    /// `report --env`: reports the stored key whose value is `value`, a key
    /// the caller holds only as a string.
    ///
    /// In-process the vault looks the value up by its fingerprint. Through
    /// the agent nothing derived from the value is sent: the agent's
    /// fingerprint is keyed by the master key, which the caller does not
    /// hold, and an unkeyed hash would hand a low-entropy value to whoever
    /// answers. The keys whose hint fits are fetched by id instead (audited
    /// as `key show --reveal` is), compared here in constant time, and
    /// reported by id.
    public func reportKey(holding value: Secret, status: Int, detail: String?) async throws -> [ReportResult] {
        guard case .agent = endpoint else {
            return try await report(Reports.Report(value: value, status: status, detail: detail))
        }
        var results: [ReportResult] = []
        for id in try await keyIDs(holding: value) {
            results += try await report(Reports.Report(keyID: id, status: status, detail: detail))
        }
        return results
    }

    private func keyIDs(holding value: Secret) async throws -> [String] {
        var ids: [String] = []
        var seen = Set<String>()
        for key in try await listKeys(KeyFilter()) where !seen.contains(key.id) && Reports.fits(value, hint: key.hint) {
            seen.insert(key.id)
            let stored = try await revealKey(id: key.id, purpose: "report --env (finding the key)")
            if stored.value.constantTimeEquals(value) { ids.append(key.id) }
        }
        guard !ids.isEmpty else {
            throw KeywardenError(.notFound, "no stored key has that value; it may have been removed or never added")
        }
        return ids
    }
}

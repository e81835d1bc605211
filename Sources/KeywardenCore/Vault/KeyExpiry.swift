/// Key expiry: `key add --expires 90d` (or a date), or what a provider
/// reports, stored in `keys.expires_at` (covered by the row MAC, since
/// `rotate --due` acts on it).
public enum KeyExpiry {
    /// `status` warns this long before a key expires.
    public static let warningWindow: Int64 = 7 * 86400

    /// Reads `--expires`: a duration from `now` (`90d`, `12w`), a date
    /// (`2027-03-01`, midnight UTC) or a UTC time (`2027-03-01T12:00:00Z`).
    /// A time that has passed is refused.
    public static func parse(_ text: String, now: Timestamp) throws(KeywardenError) -> Timestamp {
        let expires: Timestamp
        if let spec = DurationSpec(parsing: text), spec.seconds > 0, spec.seconds <= 100 * 365 * 86400 {
            expires = now.adding(seconds: spec.seconds)
        } else if text.count == 10, let day = Timestamp(iso8601: text + "T00:00:00Z") {
            expires = day
        } else if let time = Timestamp(iso8601: text) {
            expires = time
        } else {
            throw KeywardenError(.invalidInput, "invalid --expires '\(text)': use a duration from now (90d, 12w) or a UTC date (2027-03-01 or 2027-03-01T12:00:00Z)")
        }
        guard expires > now else {
            throw KeywardenError(.invalidInput, "invalid --expires '\(text)': \(expires.iso8601) has already passed; nothing was stored")
        }
        return expires
    }
}

/// A key that expires soon or has expired, for `status`.
public struct ExpiringKey: Codable, Sendable, Equatable {
    public var id: String
    public var provider: String
    public var scope: String
    public var label: String
    public var state: KeyState
    public var expires: Timestamp
    public var expired: Bool
}

extension Vault {
    /// Live keys (active, standby, pending, retiring) that expire within
    /// ``KeyExpiry/warningWindow`` or have expired, soonest first.
    func expiringKeys(_ tx: any StoreReading) throws -> [ExpiringKey] {
        let now = self.now
        let horizon = now.adding(seconds: KeyExpiry.warningWindow)
        return try tx.keys(KeyQuery(states: [.active, .standby, .pending, .retiring], order: .providerScopeCreatedAt))
            .compactMap { key in
                guard let expires = key.expiresAt, expires <= horizon else { return nil }
                return ExpiringKey(id: key.id, provider: key.provider, scope: key.scope, label: key.label, state: key.state,
                                   expires: expires, expired: expires <= now)
            }
            .sorted { $0.expires < $1.expires }
    }

    /// Sets or clears a key's expiry: the seam for what a provider reports
    /// (a balance or key-info endpoint that names an expiry), and for a
    /// person correcting it. Audited as `key.expiry`.
    public func setKeyExpiry(id: String, expires: Timestamp?, source: String) throws(KeywardenError) -> KeyInfo {
        try write { tx in
            guard var record = try tx.key(id: id) else { throw KeywardenError.unknownKey(id) }
            guard record.expiresAt != expires else { return KeyInfo(record) }
            record.expiresAt = expires
            record.updatedAt = now
            try tx.update(record)
            try appendAudit(AuditDraft(action: "key.expiry", provider: record.provider, scope: record.scope, keyID: record.id, fingerprint: record.fingerprint,
                                       outcome: "ok", detail: "\(expires.map { "expires \($0.iso8601)" } ?? "expiry cleared") (\(source))"), tx)
            return KeyInfo(record)
        }
    }
}

extension Vault {
    /// `status`'s key health: keys about to expire, and the network incidents of the last 24 hours.
    func addKeyHealth(to status: inout VaultStatus, _ tx: any StoreReading) throws {
        let expiring = try expiringKeys(tx)
        status.expiring = expiring.isEmpty ? nil : expiring
        let incidents = try tx.networkIncidents(since: now.adding(seconds: -86400), limit: 20)
        status.networkIncidents = incidents.isEmpty ? nil : incidents
    }
}

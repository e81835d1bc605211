import KeywardenCore

/// Each key's last reported balance and rate-limit headroom as Prometheus
/// gauges, labelled by provider, scope and key id (and currency, limit
/// name) — never a key's value or fingerprint. Read from the vault at
/// scrape time, so balances recorded by any `validate` and headroom the
/// gateway committed (every 10 s) show.
enum HeadroomMetrics {
    /// Revoked keys are left out: their numbers no longer matter.
    static let states: Set<KeyState> = [.pending, .active, .standby, .retiring, .failed]

    static func render(_ entries: [KeyBalanceEntry]) -> String {
        var out = ""
        func family(_ name: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n" }
        func labels(_ e: KeyBalanceEntry) -> String {
            "provider=\"\(escaped(e.provider))\",scope=\"\(escaped(e.scope))\",key=\"\(escaped(e.keyID))\""
        }
        let balances = entries.compactMap { e in e.balance.flatMap { b in b.value.map { (e, b, $0) } } }
        family("keywarden_key_balance", "The balance the provider last reported for the key (validate), in its currency.")
        for (e, b, value) in balances { out += "keywarden_key_balance{\(labels(e)),currency=\"\(escaped(b.currency ?? "unknown"))\"} \(value)\n" }
        family("keywarden_key_balance_checked_timestamp_seconds", "When the key's balance was last read.")
        for (e, b, _) in balances { out += "keywarden_key_balance_checked_timestamp_seconds{\(labels(e))} \(Double(b.checkedAt.millisecondsSince1970) / 1000)\n" }
        let limits = entries.flatMap { e in (e.rateLimits?.limits ?? []).map { (e, $0) } }
        family("keywarden_key_ratelimit_remaining", "Requests or tokens left in the current window, from the last rate-limit headers seen (validate, gateway).")
        for (e, l) in limits { if let n = l.remaining { out += "keywarden_key_ratelimit_remaining{\(labels(e)),limit=\"\(escaped(l.name))\"} \(n)\n" } }
        family("keywarden_key_ratelimit_limit", "The window's limit, from the last rate-limit headers seen.")
        for (e, l) in limits { if let n = l.limit { out += "keywarden_key_ratelimit_limit{\(labels(e)),limit=\"\(escaped(l.name))\"} \(n)\n" } }
        return out
    }

    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: " ")
    }
}

import KeywardenCore

/// `status`'s key-health lines: keys that expire within 7 days (or have
/// expired), and the network incidents of the last 24 hours. Nothing is
/// printed for either when there is nothing to say.
enum StatusKeyHealth {
    static func print(_ status: VaultStatus, to out: Output) {
        if let expiring = status.expiring, !expiring.isEmpty {
            out.line()
            out.line("Expiring keys (\(expiring.count)):")
            for key in expiring {
                let when = key.expired ? "EXPIRED at \(Output.time(key.expires))" : "expires \(Output.time(key.expires))"
                out.line("  \(key.id)  \(key.provider)/\(key.scope)  \(key.state.rawValue)  \(when)")
            }
            out.line("  (add a new key, or let a rotation policy rotate it: `rotate --due` rotates 7 days ahead)")
        }
        if let incidents = status.networkIncidents, !incidents.isEmpty {
            out.line()
            out.line("Network incidents (24 h, newest first; no key was blamed):")
            for incident in incidents.prefix(5) {
                let key = incident.keyID.map { "  \($0)" } ?? ""
                out.line("  \(Output.time(incident.at))  \(incident.provider)\(incident.scope.map { "/\($0)" } ?? "")\(key)  \(incident.outcome.rawValue)  \(incident.source)")
                out.line("    " + DisplayText.sanitized(incident.verdict))
            }
            if incidents.count > 5 { out.line("  … and \(incidents.count - 5) more (`keywarden status --json`)") }
        }
    }
}

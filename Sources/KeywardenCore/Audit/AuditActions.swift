/// The action names the audit trail records, and how `audit --action` matches
/// them. A user remembers "unlock" or "key", not always `vault.unlock`, so a
/// filter may be a whole name, a family (`key` or `key.`: every `key.…`), or
/// the part after the dot (`unlock`: `vault.unlock`; `add`: every `….add`).
public enum AuditActions {
    /// Every action Keywarden writes, grouped by family, as `audit --help` lists them.
    public static let names: [String] = [
        "vault.init", "vault.unlock", "vault.upgrade",
        "keyslot.add", "keyslot.remove", "keyslot.passwd",
        "key.add", "key.activate", "key.remove", "key.reveal", "key.validate", "key.report",
        "key.failover", "key.rotate", "key.revoke", "key.recovered", "key.expiry",
        "config.set", "config.read", "config.unset",
        "scope.add", "scope.remove",
        "provider.add", "provider.set", "provider.remove",
        "export", "run", "inject", "import",
        "rotate.policy", "rotate.start", "rotate.fail", "rotate.recover", "rotate.upstream_delete", "rotate.upstream_deactivate",
        "token.create", "token.revoke",
        "agent.start", "agent.stop", "agent.serve", "agent.deny", "agent.lock",
        "gateway.reject", "gateway.forward",
        "storage.copy",
    ]

    /// The filter in canonical form, or an error naming the known actions when
    /// it cannot match any of them (a typo would otherwise print "No matching events").
    public static func normalize(_ filter: String) throws(KeywardenError) -> String {
        let text = filter.lowercased()
        guard !text.isEmpty, text.allSatisfy({ ("a"..."z").contains($0) || $0 == "." || $0 == "_" }) else {
            throw KeywardenError(.invalidInput, "invalid --action '\(filter)': use an action name such as vault.unlock, a family such as key, or a last part such as unlock")
        }
        // A dotted name is taken as is: actions added later are found too.
        guard text.contains(".") && !text.hasSuffix(".") || names.contains(where: { matches($0, text) }) else {
            throw KeywardenError(.invalidInput, "no audit action matches '\(filter)'; actions are: \(names.joined(separator: ", "))")
        }
        return text
    }

    /// Whether `action` is selected by the (normalized) filter.
    public static func matches(_ action: String, _ filter: String) -> Bool {
        if filter.hasSuffix(".") { return action.hasPrefix(filter) }
        if filter.contains(".") { return action == filter }
        return action == filter || action.hasPrefix(filter + ".") || action.hasSuffix("." + filter)
    }
}

/// What `validate` says after its table: how many keys work, how many do not,
/// how many could not be checked and why, with each piece of advice once per
/// (outcome, host) rather than once per key. A network that is down is not
/// blamed on the keys: it gets its own count and its own exit code.
public struct ValidationSummary: Sendable {
    /// Failing checks that share an outcome, a host and a fix.
    public struct Group: Sendable {
        public var outcome: ValidationOutcome
        /// The provider's host, or the provider's name when the host is unknown.
        public var host: String
        /// Ids of the keys in the group, in the order checked.
        public var keys: [String]
        public var fix: String?
    }

    public var total: Int
    public var valid: Int
    /// Keys the provider answered about and that do not work.
    public var notValid: Int
    /// Keys with no verdict (network, provider or configuration in the way).
    public var notChecked: Int
    /// Every failing check, grouped; in order of first appearance.
    public var groups: [Group]

    public init(_ checks: [KeyCheck]) {
        total = checks.count
        valid = checks.filter { $0.outcome.verdict == .valid }.count
        notValid = checks.filter { $0.outcome.verdict == .notValid }.count
        notChecked = checks.filter { $0.outcome.verdict == .notChecked }.count
        var groups: [Group] = []
        for check in checks where check.outcome != .valid {
            let host = check.host ?? check.provider
            if let index = groups.firstIndex(where: { $0.outcome == check.outcome && $0.host == host && $0.fix == check.fix }) {
                groups[index].keys.append(check.id)
            } else {
                groups.append(Group(outcome: check.outcome, host: host, keys: [check.id], fix: check.fix))
            }
        }
        self.groups = groups
    }

    /// 0 when every key works; 5 when a key does not (even if others could
    /// not be checked); 6 when no key was found bad but some could not be checked.
    public var exitCode: Int32 {
        if notValid > 0 { return ExitCode.validationFailed }
        if notChecked > 0 { return ExitCode.couldNotCheck }
        return ExitCode.success
    }

    /// One line: "2 of 14 key(s) are not valid; could not check 12: DNS fails
    /// for api.anthropic.com". Nil when every key works.
    public var message: String? {
        var parts: [String] = []
        if notValid > 0 { parts.append("\(notValid) of \(total) key(s) are not valid") }
        if notChecked > 0 {
            let reasons = Self.unique(groups.filter { $0.outcome.verdict == .notChecked }.map { Self.phrase($0.outcome, host: $0.host) })
            let count = notValid > 0 ? "\(notChecked)" : "\(notChecked) of \(total) key(s)"
            parts.append("could not check \(count): " + reasons.joined(separator: "; "))
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// One line per group that has a fix: which keys, what happened, what to do.
    public var adviceLines: [String] {
        groups.compactMap { group in
            guard let fix = group.fix else { return nil }
            let keys = group.keys.count <= 3 ? group.keys.joined(separator: ", ") : "\(group.keys.count) keys"
            return "\(keys) (\(group.outcome.rawValue) at \(group.host)): \(fix)"
        }
    }

    /// What stopped the check, for the summary line.
    static func phrase(_ outcome: ValidationOutcome, host: String) -> String {
        switch outcome {
        case .dnsError: "DNS fails for \(host)"
        case .connectError: "no connection to \(host)"
        case .tlsError: "TLS fails with \(host)"
        case .timeout: "\(host) did not answer in time"
        case .proxyError: "the proxy fails for \(host)"
        case .providerError: "\(host) is failing"
        case .rateLimited: "\(host) is rate limiting"
        case .unexpected: "unexpected answer from \(host)"
        case .valid, .invalid, .forbidden, .noCredit: "\(outcome.rawValue) at \(host)"
        }
    }

    private static func unique(_ items: [String]) -> [String] {
        var seen: Set<String> = []
        return items.filter { seen.insert($0).inserted }
    }
}

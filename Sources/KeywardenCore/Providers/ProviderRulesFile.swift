import Foundation

/// `provider add --rules FILE`: a user-defined provider's own rules, a JSON
/// array of ``OutcomeRule`` objects, checked in order before the built-in
/// ones for user-defined providers (``CustomProviderRules``) and the generic
/// status rules:
///
/// ```json
/// [{"status": [403], "json": [{"path": "error.code", "equals": "insufficient_user_quota"}],
///   "outcome": "no_credit", "reason": "relay quota used up", "fix": "top up at https://relay.example/topup"}]
/// ```
public enum ProviderRulesFile {
    /// The rules in `bytes` (read from `file`), or an error naming the file
    /// and the rule at fault. A rule needs a reason and at least one
    /// condition (a status, a body substring or a JSON match); a JSON match
    /// needs a path.
    public static func parse(_ bytes: [UInt8], file: String) throws(KeywardenError) -> [OutcomeRule] {
        let rules: [OutcomeRule]
        do {
            rules = try JSONDecoder().decode([OutcomeRule].self, from: Data(bytes))
        } catch {
            throw KeywardenError(.invalidInput, "invalid --rules \(file): \(describe(error)); expected a JSON array of rules "
                + "like [{\"status\": [403], \"json\": [{\"path\": \"error.code\", \"equals\": \"insufficient_user_quota\"}], \"outcome\": \"no_credit\", \"reason\": \"…\"}]")
        }
        guard !rules.isEmpty, rules.count <= 200 else {
            throw KeywardenError(.invalidInput, "invalid --rules \(file): give 1 to 200 rules")
        }
        for (index, rule) in rules.enumerated() {
            let culprit = "invalid --rules \(file): rule \(index + 1)"
            if rule.reason.trimmingCharacters(in: .whitespaces).isEmpty { throw KeywardenError(.invalidInput, "\(culprit) has no reason") }
            if rule.status.isEmpty && rule.bodyContains.isEmpty && rule.json.isEmpty {
                throw KeywardenError(.invalidInput, "\(culprit) has no condition (status, body_contains or json): it would match every answer")
            }
            if let bad = rule.status.first(where: { !(100...599).contains($0) }) {
                throw KeywardenError(.invalidInput, "\(culprit) has status \(bad), which is not an HTTP status")
            }
            if rule.json.contains(where: { $0.path.isEmpty }) { throw KeywardenError(.invalidInput, "\(culprit) has a json match without a path") }
        }
        return rules
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty: return "not JSON"
        case DecodingError.dataCorrupted(let context): return "\(location(context)): \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, let context): return "\(location(context)) lacks \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(location(context)): \(context.debugDescription)"
        default: return "not a list of rules"
        }
    }

    private static func location(_ context: DecodingError.Context) -> String {
        guard let index = context.codingPath.first?.intValue else { return "the file" }
        return "rule \(index + 1)"
    }
}

import Foundation

/// A classified answer: the outcome, and the rule's explanation and fix.
public struct Classification: Sendable, Equatable {
    public var outcome: ValidationOutcome
    public var reason: String
    public var fix: String?
}

/// Applies a provider's rules, then the generic ones, to an HTTP answer.
public enum OutcomeClassifier {
    public static func classify(status: Int, body: [UInt8], rules: [OutcomeRule]) -> Classification {
        let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        let lowered = text.lowercased()
        let json = JSONValue.parse(body.prefix(64 * 1024))
        // A 2xx that is not JSON is not the provider's API talking: a captive
        // portal, a proxy's login page, or a base URL pointing at a website.
        if (200...299).contains(status), json == nil, !body.isEmpty {
            return Classification(outcome: .unexpected, reason: "HTTP \(status) with a body that is not JSON (a captive portal, a proxy login page, or a wrong base URL?)",
                                  fix: "check the network and the provider's base URL (`keywarden provider show`)")
        }
        for rule in rules + GenericRules.all where matches(rule, status: status, lowered: lowered, json: json) {
            return Classification(outcome: rule.outcome, reason: rule.reason, fix: rule.fix)
        }
        return Classification(outcome: .unexpected, reason: "HTTP \(status) that no rule explains", fix: "check the provider's base URL (`keywarden provider show`) and status page")
    }

    static func matches(_ rule: OutcomeRule, status: Int, lowered: String, json: JSONValue?) -> Bool {
        if !rule.status.isEmpty && !rule.status.contains(status) { return false }
        for needle in rule.bodyContains where !lowered.contains(needle.lowercased()) { return false }
        for match in rule.json {
            let values = json?.values(at: match.path.split(separator: ".").map(String.init)) ?? []
            if values.isEmpty { return false }
            if let expected = match.equals, !values.contains(expected) { return false }
            if let needle = match.contains?.lowercased(), !values.contains(where: { $0.lowercased().contains(needle) }) { return false }
        }
        return true
    }
}

/// Status-only rules that apply after a provider's own.
public enum GenericRules {
    public static let all: [OutcomeRule] = [
        OutcomeRule(status: Array(200...299), outcome: .valid, reason: "the provider accepted the key"),
        OutcomeRule(status: [401], outcome: .invalid, reason: "the provider rejected the key (401)", fix: "the key is wrong, revoked or expired: create a new one and `keywarden key add` it"),
        OutcomeRule(status: [402], outcome: .noCredit, reason: "payment required (402): the account has no credit", fix: "top up the account or raise its spending limit"),
        OutcomeRule(status: [403], outcome: .forbidden, reason: "the key is not allowed to do this (403)", fix: "check the key's permissions, project and region"),
        OutcomeRule(status: [408], outcome: .timeout, reason: "the provider timed out the request (408)"),
        OutcomeRule(status: [429], outcome: .rateLimited, reason: "rate limited (429)", fix: "wait, or lower the request rate"),
        OutcomeRule(status: Array(500...599), outcome: .providerError, reason: "the provider failed (5xx)", fix: "retry later; check the provider's status page"),
    ]
}

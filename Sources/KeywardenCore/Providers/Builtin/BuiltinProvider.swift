/// One built-in provider, whole: where its API lives and how a key is sent
/// (`definition`), how to read the answers to its probe (`rules`), and what it
/// really answers in each situation worth knowing (`answers`). The answers sit
/// beside the rules because they are the rules' test data: the classification
/// tests run every answer through the rules, and the mock provider server
/// replays them over HTTP.
///
/// Each provider is one file in this folder (`Anthropic.swift`, …);
/// `BuiltinProviders.list` is the one list of them.
public struct BuiltinProvider: Sendable {
    public let definition: ProviderDefinition
    /// Checked in order before `GenericRules` (the first match wins), so a
    /// provider lists only answers that the status alone would misclassify or
    /// that deserve a more precise reason and fix.
    public let rules: [OutcomeRule]
    /// Its documented answers to the probe, one per scenario.
    public let answers: [DocumentedAnswer]

    /// The lower-case name used on the command line (`anthropic`).
    public var name: String { definition.name }

    /// The documented answer for `scenario` (`valid`, `nocredit`, …), if there is one.
    public func answer(for scenario: String) -> DocumentedAnswer? {
        answers.first { $0.scenario == scenario }
    }
}

/// What a provider really sends to its probe in one situation (a good key, a
/// bad key, an empty account, a rate limit, one of its traps), and the outcome
/// the provider's rules must give it.
public struct DocumentedAnswer: Sendable {
    /// Lower-case letters only, unique per provider: "valid", "invalid",
    /// "nocredit", "ratelimited", … (the mock answers a key containing the word).
    public var scenario: String
    /// Status, headers and body, as documented or observed.
    public var response: ProbeResponse
    /// The outcome the provider's rules must produce.
    public var expected: ValidationOutcome
    /// Where the body shape comes from (doc URL, issue, SDK file) or "reference table".
    public var source: String
}

extension ProbeResponse {
    /// An answer with a text body (documented answers, the mock server's own).
    public init(status: Int, headers: [(String, String)], body: String) {
        self.init(status: status, headers: headers, body: Array(body.utf8))
    }
}

// Shorthands for the answers in the provider files. Request ids, organization
// ids and timestamps in them are made up but shaped like the real ones; retry
// delays are small ("1" second, 200 ms) so tests that honour them stay fast.
extension BuiltinProvider {
    /// The content type of a JSON answer.
    static let json = ("content-type", "application/json")

    /// A documented answer: scenario, expected outcome, then the response and its source.
    static func answer(_ scenario: String, _ expected: ValidationOutcome, _ status: Int,
                       _ headers: [(String, String)], _ body: String, _ source: String) -> DocumentedAnswer {
        DocumentedAnswer(scenario: scenario, response: ProbeResponse(status: status, headers: headers, body: body),
                         expected: expected, source: source)
    }
}

import Testing
@testable import KeywardenCore

@Suite("Validation summary: keys that fail apart from keys that could not be checked")
struct ValidationSummaryTests {
    func check(_ id: String, _ outcome: ValidationOutcome, host: String = "api.anthropic.com", fix: String? = "run `keywarden doctor`") -> KeyCheck {
        KeyCheck(id: id, provider: "anthropic", scope: "prod", label: id, hint: "…", fingerprint: "", outcome: outcome, status: nil, stage: nil,
                 latencyMs: 1, attempts: 1, reason: "r", fix: fix, checkedAt: .now(), host: host)
    }

    @Test("no network: twelve DNS failures are 'could not check', one line of advice, exit 6")
    func offline() {
        let summary = ValidationSummary((1...12).map { check("k_\($0)", .dnsError) })
        #expect(summary.notValid == 0)
        #expect(summary.notChecked == 12)
        #expect(summary.exitCode == 6)
        #expect(summary.message == "could not check 12 of 12 key(s): DNS fails for api.anthropic.com")
        #expect(summary.adviceLines == ["12 keys (dns_error at api.anthropic.com): run `keywarden doctor`"])
    }

    @Test("a bad key wins over keys that could not be checked: exit 5, both counted")
    func mixed() {
        let checks = [check("k_bad", .invalid, host: "api.openai.com", fix: "create a new key"), check("k_ok", .valid)]
            + (1...3).map { check("k_\($0)", .timeout) } + [check("k_dns", .dnsError, host: "generativelanguage.googleapis.com")]
        let summary = ValidationSummary(checks)
        #expect(summary.exitCode == 5)
        #expect(summary.valid == 1 && summary.notValid == 1 && summary.notChecked == 4)
        #expect(summary.message == "1 of 6 key(s) are not valid; could not check 4: api.anthropic.com did not answer in time; DNS fails for generativelanguage.googleapis.com")
        #expect(summary.adviceLines.count == 3)
        #expect(summary.adviceLines.first == "k_bad (invalid at api.openai.com): create a new key")
    }

    @Test("every key valid: exit 0, no message")
    func allValid() {
        let summary = ValidationSummary([check("k_1", .valid), check("k_2", .valid)])
        #expect(summary.exitCode == 0)
        #expect(summary.message == nil)
        #expect(summary.adviceLines.isEmpty)
    }

    @Test("outcomes sort into valid, not valid and not checked")
    func verdicts() {
        #expect(ValidationOutcome.allCases.filter { $0.verdict == .notValid } == [.invalid, .forbidden, .noCredit])
        #expect(ValidationOutcome.allCases.filter { $0.verdict == .valid } == [.valid])
    }
}

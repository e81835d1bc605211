#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import KeywardenCore

struct Validate: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check keys against their providers' endpoints, without spending tokens, and say why one fails.",
        discussion: """
        Each key gets one cheap authenticated request (e.g. GET /v1/models), classified by status and
        body into: valid, invalid, forbidden, no_credit, rate_limited, provider_error, dns_error,
        connect_error, tls_error, timeout, proxy_error, unexpected. Transient outcomes are retried with
        capped exponential backoff and jitter, honouring retry-after-ms / retry-after, within --timeout.
        HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured. Each result is stored on the key (`key list`)
        and in the audit trail (`audit --failed-auth`).

        After the table comes a summary that keeps two things apart: keys the provider answered about and that do not work (invalid, forbidden, no_credit), and keys that could not be checked at all (dns_error, connect_error, tls_error, timeout, proxy_error, provider_error, rate_limited, unexpected), e.g. "could not check 12 of 12 key(s): DNS fails for api.anthropic.com". Each piece of advice is given once per outcome and host.

        Where a provider tells a key's balance without spending tokens (DeepSeek, OpenRouter's key limit, Moonshot), the balance is recorded on the key (`key list`, `key show`, `/metrics`); so are the rate-limit headers of the answer. With --warn-below AMOUNT, each key whose balance is below AMOUNT (in the key's own currency) gets a line, and the exit code is 7 unless 5 or 6 applies.

        Exit codes: 0 every key is valid; 5 at least one key is not valid (this wins when both happen); 6 no key was found bad, but at least one could not be checked; 7 (--warn-below) every key works but a balance is below the amount.

        Examples:
          keywarden validate
          keywarden validate anthropic --scope prod
          keywarden validate --key k_7hq2m4x9ab --json
          keywarden validate --all --concurrency 32 --timeout 10s
          keywarden validate deepseek --warn-below 5
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Only this provider's keys.", completion: CompletionCandidates.providers) var provider: String?
    @Option(help: "Only keys of this scope.", completion: CompletionCandidates.scopes) var scope: String?
    @Option(name: .customLong("key"), help: "Only this key id.") var keyID: String?
    @Flag(help: "Also check retiring, revoked and failed keys (default: active, standby, pending).") var all = false
    @Option(help: "Checks in flight at once.") var concurrency: Int = 8
    @Option(help: "Checks in flight at once per provider (default: --concurrency).") var perProvider: Int?
    @Option(help: ArgumentHelp("Time limit per key, retries included (e.g. 10s, 1m).", valueName: "duration")) var timeout: String = "15s"
    @Option(help: ArgumentHelp("Extra trusted CA certificates (PEM), e.g. a TLS-inspecting proxy's.", valueName: "file")) var caFile: String?
    @Option(help: ArgumentHelp("Warn and exit 7 when a key's reported balance is below this amount (in the key's currency).", valueName: "amount"))
    var warnBelow: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let warnBelow { _ = try BalanceWarning.threshold(warnBelow) }
    }

    func run(_ context: CLIContext) async throws {
        // Checked before anything is unlocked or sent.
        let threshold = try warnBelow.map(BalanceWarning.threshold)
        let request = Validation.Validate(provider: provider, scope: scope, keyID: keyID, all: all, concurrency: concurrency, perProvider: perProvider,
                                          timeout: try Validation.timeout(timeout), network: NetworkSettings(environment: context.environment, caFile: caFile))
        try request.checkLimits()
        let service = try await Session.service(context, vault, command: "validate")
        // Progress shows only when this process runs the checks (the agent
        // reports none), on a terminal, for ten keys or more.
        let progress = ProgressLine("checking keys", context.output, enabled: !json && isatty(STDERR_FILENO) == 1, threshold: 10)
        let run = try await Validation.$progress.withValue(progress.report) { try await service.validate(request) }
        progress.finish()
        let results = run.checks
        if results.isEmpty {
            if json { try context.output.json([KeyCheck]()) } else { context.output.line("No keys to check.") }
            return
        }
        if json {
            try context.output.json(results)
        } else {
            ValidationTable.print(results, to: context.output)
            for failover in run.failovers { context.output.line("\(failover.provider)/\(failover.scope): \(failover.message)") }
        }
        let summary = ValidationSummary(results)
        let low = threshold.map { BalanceWarning.below($0, in: results) } ?? []
        if !json, let threshold {
            for check in low { context.output.line(BalanceWarning.line(check, threshold: threshold)) }
        }
        if summary.exitCode != ExitCode.success {
            throw CommandFailure(code: summary.exitCode, message: json ? "" : summary.message ?? "")
        }
        if !low.isEmpty {
            throw CommandFailure(code: ExitCode.balanceLow, message: json ? "" : "\(low.count) key(s) have a balance below \(warnBelow ?? "")")
        }
    }
}

/// `validate --warn-below`: which balances are below the amount, and the line for each.
enum BalanceWarning {
    static func threshold(_ text: String) throws -> Double {
        guard let amount = Double(text.trimmingCharacters(in: .whitespaces)), amount.isFinite, amount >= 0 else {
            throw ValidationError("invalid --warn-below '\(text)': give an amount of 0 or more, e.g. 5 or 2.50")
        }
        return amount
    }

    /// The checks whose key reported a balance below `threshold`; keys without a reported balance are not judged.
    static func below(_ threshold: Double, in checks: [KeyCheck]) -> [KeyCheck] {
        checks.filter { check in check.balance?.value.map { $0 < threshold } ?? false }
    }

    /// `warning: k_… deepseek/prod (sk-…a1b2): balance 3.20 CNY is below 5; top it up before it runs dry`
    static func line(_ check: KeyCheck, threshold: Double) -> String {
        let amount = check.balance.map(\.display) ?? "?"
        let limit = threshold.rounded() == threshold ? String(Int(threshold)) : String(threshold)
        return "warning: \(check.id) \(check.provider)/\(check.scope) (\(check.hint)): balance \(amount) is below \(limit); top it up before it runs dry"
    }
}

enum ValidationTable {
    static func print(_ results: [KeyCheck], to output: Output) {
        output.table(["PROVIDER", "SCOPE", "KEY", "HINT", "OUTCOME", "LATENCY", "REASON"], results.map { r in
            [r.provider, r.scope, r.id, r.hint, r.outcome.rawValue, "\(Int(r.latencyMs.rounded())) ms", r.reason]
        })
        // Once per outcome and host: twelve keys behind one broken DNS get one line.
        let advice = ValidationSummary(results).adviceLines
        if !advice.isEmpty {
            output.line()
            for line in advice { output.line(line) }
        }
    }
}

import ArgumentParser
import Foundation
import KeywardenCore

struct Doctor: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Walk the troubleshooting checklist for a provider, one stage at a time, and name the first that fails.",
        discussion: """
        Stages, each timed: proxy variables in effect; DNS (addresses); TCP connect; TLS handshake
        (protocol, certificate subject, issuer, expiry, verification); the authenticated probe with the
        scope's active key (status, classified outcome); then a verdict with what to do. Never prints
        the key.

        When the certificate fails verification, doctor shows it from a second handshake that stops right after the certificate arrives and sends nothing, so that server never sees the key.

        Exit codes: 0 the key works; 5 the key does not; 6 it could not be checked (network, proxy, TLS, a failing provider).

        Examples:
          keywarden doctor anthropic --scope prod
          keywarden doctor --key k_7hq2m4x9ab
          HTTPS_PROXY=http://proxy:3128 keywarden doctor openai --scope dev
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The provider to diagnose.", completion: CompletionCandidates.providers) var provider: String?
    @Option(help: "The scope whose active key to use.", completion: CompletionCandidates.scopes) var scope: String?
    @Option(name: .customLong("key"), help: "Use this key instead.") var keyID: String?
    @Option(help: ArgumentHelp("Time limit for the whole check.", valueName: "duration")) var timeout: String = "15s"
    @Option(help: ArgumentHelp("Extra trusted CA certificates (PEM).", valueName: "file")) var caFile: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if provider == nil && keyID == nil { throw ValidationError("name a provider (with --scope) or a key (--key ID)") }
    }

    func run(_ context: CLIContext) async throws {
        let request = Validation.Doctor(provider: provider, scope: scope, keyID: keyID, timeout: try Validation.timeout(timeout),
                                        network: NetworkSettings(environment: context.environment, caFile: caFile))
        let report = try await Session.service(context, vault, command: "doctor").diagnose(request)
        if json {
            try context.output.json(report.printed)
        } else {
            report.print(to: context.output)
        }
        let code = ValidationSummary([report.check]).exitCode
        if code != ExitCode.success { throw CommandFailure(code: code, message: "") }
    }
}

extension Diagnosis {
    func print(to output: Output) {
        output.line("Doctor: \(provider), key \(key), \(url)")
        let names: [ProbeStage: String] = [.proxy: "proxy", .dns: "DNS", .connect: "TCP", .tls: "TLS", .http: "probe"]
        for stage in stages {
            let mark = stage.ok ? "ok  " : "FAIL"
            let timing = stage.milliseconds > 0 ? String(format: " (%.1f ms)", stage.milliseconds) : ""
            output.line("  \(mark) \((names[stage.stage] ?? stage.stage.rawValue).padding(toLength: 6, withPad: " ", startingAt: 0)) \(stage.detail)\(timing)")
        }
        if check.status != nil { output.line("  \(check.outcome == .valid ? "ok  " : "FAIL") \("result".padding(toLength: 6, withPad: " ", startingAt: 0)) \(check.outcome.rawValue): \(check.reason)") }
        output.line()
        output.line("Verdict: \(verdict)")
        if let advice { output.line("What to do: \(advice)") }
    }
}

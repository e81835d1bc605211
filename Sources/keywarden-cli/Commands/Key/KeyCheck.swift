import ArgumentParser
import KeywardenCore

struct KeyCheckCommand: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check one key now; a failed key that passes is enabled again.",
        discussion: """
        The agent probes failed keys again on its own only when they failed for a reason that
        may pass (rate_limited, no_credit, provider_error). A key found invalid or forbidden
        stays failed until a person fixes it at the provider and runs this command: once the
        key answers valid it is standby again, or active when its pool has no active key
        (audited as key.recovered). Any other key's state is left as it is. A network failure
        (DNS, connect, TLS, proxy, timeout) never changes a key; it is recorded as a network
        incident that `status` shows.

        Exit codes as for validate: 0 valid, 5 the key does not work, 6 it could not be checked.

        Examples:
          keywarden key check k_7hq2m4x9ab
          keywarden key check k_7hq2m4x9ab --json
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The key id (see `key list`).", completion: CompletionCandidates.keyIDs) var id: String
    @Option(help: ArgumentHelp("Time limit, retries included (e.g. 10s, 1m).", valueName: "duration")) var timeout: String = "15s"
    @Option(help: ArgumentHelp("Extra trusted CA certificates (PEM), e.g. a TLS-inspecting proxy's.", valueName: "file")) var caFile: String?
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let request = KeyHealth.Check(id: id, timeout: try Validation.timeout(timeout),
                                      network: NetworkSettings(environment: context.environment, caFile: caFile))
        let service = try await Session.service(context, vault, command: "key check")
        let result = try await service.checkKey(request)
        if json {
            try context.output.json(result)
        } else {
            context.output.line(DisplayText.sanitized(result.message))
            if let check = result.check, check.outcome != .valid {
                context.output.line("  \(check.outcome.rawValue): \(DisplayText.sanitized(check.reason))")
                if let fix = check.fix { context.output.line("  fix: \(DisplayText.sanitized(fix))") }
            }
        }
        switch result.outcome.verdict {
        case .valid: return
        case .notValid: throw CommandFailure(code: ExitCode.validationFailed, message: "")
        case .notChecked: throw CommandFailure(code: ExitCode.couldNotCheck, message: "")
        }
    }
}

import ArgumentParser
import Foundation
import KeywardenCore

struct RotateRun: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Rotate a pool now, or every pool that is due (the default of `keywarden rotate`).",
        discussion: """
        Steps (as AWS Secrets Manager): create — the next healthy standby key, or the policy's command's
        output; set — store it as pending; test — validate it against the provider (only `valid`
        passes); finish — promote it and move the old key to retiring, in one transaction. Any failure
        leaves the old key active. An interrupted rotation (crash, kill -9) is finished or rolled back by
        the next run. --due also revokes retiring keys whose grace period has ended (their revoke
        command gets the old key on stdin).

        From cron, as crontab lines (docs/rotation.md has the setup; scripts/install.sh installs a systemd timer):
          KEYWARDEN_HOME=/var/lib/keywarden
          KEYWARDEN_KEYFILE=/etc/keywarden/vault.key
          */15 * * * * /usr/local/bin/keywarden rotate --due --reexport

        Examples:
          keywarden rotate anthropic --scope prod
          keywarden rotate --due --dry-run
          keywarden rotate --due --reexport --json
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The provider to rotate now.", completion: CompletionCandidates.providers) var provider: String?
    @Option(help: "Its scope.", completion: CompletionCandidates.scopes) var scope: String?
    @Flag(help: "Rotate every pool whose policy says it is due, and retire expired keys.") var due = false
    @Flag(help: "Say what would happen; change nothing.") var dryRun = false
    @Flag(help: "Rewrite the files `export --output` wrote whose keys change (rotation or revocation).") var reexport = false
    @Option(help: ArgumentHelp("Time limit for testing the new key.", valueName: "duration")) var timeout: String = "15s"
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if due && provider != nil { throw ValidationError("--due rotates every due pool; do not name a provider with it") }
        if !due && (provider == nil || scope == nil) { throw ValidationError("name a provider and --scope to rotate now, or use --due") }
    }

    func run(_ context: CLIContext) async throws {
        let target: RotationRequest = due ? .due : .pool(provider: provider!, scope: scope!)
        let testTimeout = try Validation.timeout(timeout)
        let service = try await Session.service(context, vault, command: "rotate")
        // One plan for both: the dry run prints exactly what the real run does.
        let reports: [RotationReport]
        if dryRun {
            reports = try await service.planRotation(Rotation.Plan(target: target, reexport: reexport))
        } else {
            var request = Rotation.Run(target: target, reexport: reexport, timeout: testTimeout, network: NetworkSettings(environment: context.environment))
            #if DEBUG
            // The crash tests' hook, for whichever process runs the rotation; release builds neither send nor honour it.
            request.crashAt = context.environment["KEYWARDEN_CRASH_AT"]
            #endif
            // "rotating: 2/5" while steps run (each tests a key at the provider), on a terminal only.
            let progress = ProgressLine("rotating", context.output, enabled: !json && isatty(STDERR_FILENO) == 1, threshold: 1)
            reports = try await OperationProgress.$current.withValue(progress.report) { try await service.rotate(request) }
            progress.finish()
        }
        if json { return try context.output.json(reports) }
        let changes = reports.filter { $0.path == nil }
        if reports.isEmpty { context.output.line(due ? "Nothing is due." : "Nothing to do.") }
        if !changes.isEmpty {
            context.output.table(["PROVIDER", "SCOPE", "RESULT", "OLD", "NEW", "DETAIL"], changes.map { r in
                [r.provider, r.scope, r.result, r.oldKey ?? "-", r.newKey ?? "-", r.detail]
            })
        }
        for file in reports where file.path != nil {
            switch file.result {
            case "re-exported": context.output.line("Re-exported \(file.path!): \(file.detail).")
            case "would re-export": context.output.line("Would re-export \(file.path!): \(file.detail).")
            case "skipped": context.output.line("Not re-exported: \(file.detail).")
            default: context.output.line("Re-export FAILED: \(file.detail).")
            }
        }
        if reports.contains(where: { $0.result == "failed" }) {
            throw CommandFailure(code: ExitCode.failure, message: "a rotation step failed (see above); every pool keeps an active key")
        }
    }
}

import ArgumentParser
import Foundation
import KeywardenCore
import NIOCore

struct RotateRun: AsyncParsableCommand {
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

        From cron, as crontab lines (the README has the setup and systemd units):
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
    @Argument(help: "The provider to rotate now.") var provider: String?
    @Option(help: "Its scope.") var scope: String?
    @Flag(help: "Rotate every pool whose policy says it is due, and retire expired keys.") var due = false
    @Flag(help: "Say what would happen; change nothing.") var dryRun = false
    @Flag(help: "Rewrite the files `export --output` wrote whose keys change (rotation or revocation).") var reexport = false
    @Option(help: ArgumentHelp("Time limit for testing the new key.", valueName: "duration")) var timeout: String = "15s"
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if due && provider != nil { throw ValidationError("--due rotates every due pool; do not name a provider with it") }
        if !due && (provider == nil || scope == nil) { throw ValidationError("name a provider and --scope to rotate now, or use --due") }
    }

    func run() async throws {
        let opened = try Session.open(vault, command: "rotate")
        let validator = Validator(client: ProbeOptions.client(caFile: nil), timeout: try ProbeOptions.duration(timeout))
        var rotator = Rotator(vault: opened, validator: validator)
        #if DEBUG
        // The crash tests' hook; release builds do not read it.
        rotator.crashAt = Session.environment["KEYWARDEN_CRASH_AT"]
        #endif
        // One plan for both: the dry run prints exactly what the real run does.
        let plan = try rotator.plan(due ? .due : .pool(provider: provider!, scope: scope!), reexport: reexport)
        let reports = dryRun ? plan.preview : try await rotator.execute(plan)
        if json { return try Output.json(reports) }
        let changes = reports.filter { $0.path == nil }
        if reports.isEmpty { Output.line(due ? "Nothing is due." : "Nothing to do.") }
        if !changes.isEmpty {
            Output.table(["PROVIDER", "SCOPE", "RESULT", "OLD", "NEW", "DETAIL"], changes.map { r in
                [r.provider, r.scope, r.result, r.oldKey ?? "-", r.newKey ?? "-", r.detail]
            })
        }
        for file in reports where file.path != nil {
            switch file.result {
            case "re-exported": Output.line("Re-exported \(file.path!): \(file.detail).")
            case "would re-export": Output.line("Would re-export \(file.path!): \(file.detail).")
            case "skipped": Output.line("Not re-exported: \(file.detail).")
            default: Output.line("Re-export FAILED: \(file.detail).")
            }
        }
        if reports.contains(where: { $0.result == "failed" }) {
            throw CommandFailure(code: ExitCode.failure, message: "a rotation step failed (see above); every pool keeps an active key")
        }
    }
}

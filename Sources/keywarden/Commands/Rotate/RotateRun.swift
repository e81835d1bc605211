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

        cron:    */15 * * * *  KEYWARDEN_KEYFILE=/etc/keywarden/vault.key keywarden rotate --due --reexport
        systemd: a keywarden-rotate.service running `keywarden rotate --due` with a .timer (OnCalendar=*:0/15)

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
    @Flag(help: "Rewrite the files `export --output` wrote for the rotated scopes.") var reexport = false
    @Option(help: ArgumentHelp("Time limit for testing the new key.", valueName: "duration")) var timeout: String = "15s"
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if due && provider != nil { throw ValidationError("--due rotates every due pool; do not name a provider with it") }
        if !due && (provider == nil || scope == nil) { throw ValidationError("name a provider and --scope to rotate now, or use --due") }
    }

    func run() async throws {
        let opened = try Session.open(vault, command: "rotate")
        let environment = Session.environment
        let validator = Validator(client: ProbeOptions.client(caFile: nil), timeout: try ProbeOptions.duration(timeout))
        let rotator = Rotator(vault: opened, validator: validator, crashAt: environment["KEYWARDEN_CRASH_AT"])
        var reports: [RotationReport] = []
        if !dryRun { reports += try await rotator.recover() }
        if due {
            let now = opened.context.clock()
            for pool in try rotator.duePools(now: now) {
                reports.append(try await rotator.rotate(provider: pool.provider, scope: pool.scope, trigger: "due", dryRun: dryRun))
            }
            if !dryRun { reports += try await rotator.retireExpired(now: now) }
        } else {
            reports.append(try await rotator.rotate(provider: provider!, scope: scope!, trigger: "manual", dryRun: dryRun))
        }
        var rewritten: [String] = []
        if reexport && !dryRun {
            for scope in Set(reports.filter { $0.result == "rotated" || $0.result.hasPrefix("resumed") }.map(\.scope)) {
                rewritten += try opened.reexport(after: scope)
            }
        }
        if json { return try Output.json(reports) }
        if reports.isEmpty { Output.line(due ? "Nothing is due." : "Nothing to do.") }
        else {
            Output.table(["PROVIDER", "SCOPE", "RESULT", "OLD", "NEW", "DETAIL"], reports.map { r in
                [r.provider, r.scope, r.result, r.oldKey ?? "-", r.newKey ?? "-", r.detail]
            })
        }
        for path in rewritten { Output.line("Re-exported \(path).") }
        if reports.contains(where: { $0.result == "failed" }) { throw CommandFailure(code: ExitCode.failure, message: "a rotation failed; the old key stays active") }
    }
}

import ArgumentParser
import KeywardenCore

struct Report: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Say that a key failed (or worked) in use: recorded on the key and in the audit trail; may fail over.",
        discussion: """
        --env NAME reports the key that is the value of $NAME in this environment, as a deployment
        holds it (the value never leaves this process: see docs/agent.md). With an active failover policy
        (`keywarden rotate policy … --failover on`), a reported 401/402/403 on the active key promotes
        the pool's next healthy standby key. Uses the agent when one answers.

        Examples:
          keywarden report --env ANTHROPIC_API_KEY --status 401 \\
            --detail "invalid x-api-key"
          keywarden report --key k_7hq2m4x9ab --status 429
        """
    )

    @OptionGroup var vault: VaultOptions
    @Option(name: .customLong("key"), help: "The key id.") var keyID: String?
    @Option(help: ArgumentHelp("The variable whose value is the key.", valueName: "NAME")) var env: String?
    @Option(help: "The HTTP status the provider answered.") var status: Int
    @Option(help: "What the provider said (the key, if echoed, is removed).") var detail: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if (keyID == nil) == (env == nil) { throw ValidationError("give exactly one of --key ID or --env NAME") }
    }

    func run(_ context: CLIContext) async throws {
        // The key's value comes from this process's environment, never argv.
        var value: Secret?
        if let env {
            guard let text = context.environment[env], !text.isEmpty else {
                throw KeywardenError(.invalidInput, "$\(env) is not set in this environment, so there is no key to report")
            }
            value = Secrets.secret(copying: Array(text.utf8))
        }
        // --keyfile means "use this vault", not whatever agent is up (Session.service).
        let service = try await Session.service(context, vault, command: "report")
        let results: [ReportResult]
        if let value {
            results = try await service.reportKey(holding: value, status: status, detail: detail)
        } else {
            results = try await service.report(Reports.Report(keyID: keyID, status: status, detail: detail))
        }
        if json { return try context.output.json(results) }
        for result in results { context.output.line("\(result.provider)/\(result.scope): \(result.message)") }
    }
}

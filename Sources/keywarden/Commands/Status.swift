import ArgumentParser
import KeywardenCore

struct Status: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the vault's location, schema and contents at a glance.",
        discussion: """
        Examples:
          keywarden status
          keywarden status --json
        """
    )

    @OptionGroup var vault: VaultOptions
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let status = try await Session.service(context, vault, command: "status").status()
        if json { return try context.output.json(status) }
        context.output.line("vault     \(status.path)")
        context.output.line("id        \(status.vaultId)")
        context.output.line("schema    \(status.schema.joined(separator: ", "))")
        context.output.line("created   \(Output.time(status.createdAt))")
        context.output.line("keyslots  \(status.keyslots)")
        context.output.line("scopes    \(status.scopes)")
        context.output.line("keys      \(status.keys) (\(status.activeKeys) active)")
        context.output.line("config    \(status.config)")
        context.output.line("audit     \(status.auditEvents) events")
        if let traffic = status.gatewayTraffic24h {
            context.output.line("gateway traffic (24 h): \(traffic.total) requests, \(traffic.failed) failed, \(traffic.rateLimited) rate-limited")
        }
        StatusBalances.print(status.balances, to: context.output)
    }
}

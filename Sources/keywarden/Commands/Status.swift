import ArgumentParser
import KeywardenCore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the vault's location, schema and contents at a glance.",
        discussion: """
        Examples:
          keywarden status
          keywarden status --json
        """
    )

    @OptionGroup var vault: VaultOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let status = try Session.open(vault, command: "status").status()
        if json { return try Output.json(status) }
        Output.line("vault     \(status.path)")
        Output.line("id        \(status.vaultId)")
        Output.line("schema    \(status.schema.joined(separator: ", "))")
        Output.line("created   \(Output.time(status.createdAt))")
        Output.line("keyslots  \(status.keyslots)")
        Output.line("scopes    \(status.scopes)")
        Output.line("keys      \(status.keys) (\(status.activeKeys) active)")
        Output.line("config    \(status.config)")
        Output.line("audit     \(status.auditEvents) events")
    }
}

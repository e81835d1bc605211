import ArgumentParser
import KeywardenCore

struct KeyList: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List keys: hints and fingerprints, never values.",
        discussion: """
        With --scope, the active keys a scope inherits from its parents are listed too.

        Examples:
          keywarden key list
          keywarden key list --scope prod --provider anthropic
          keywarden key list --state standby --json
        """,
        aliases: ["ls"]
    )

    @OptionGroup var vault: VaultOptions
    @Option(help: "Only this provider.", completion: CompletionCandidates.providers) var provider: String?
    @Option(help: "Only this scope (and what it inherits).", completion: CompletionCandidates.scopes) var scope: String?
    @Option(help: "Only keys in this state.") var state: KeyState?
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let keys = try await Session.service(context, vault, command: "key list").listKeys(KeyFilter(provider: provider, scope: scope, state: state))
        if json { return try context.output.json(keys) }
        if keys.isEmpty { return context.output.line("No keys. Add one with `keywarden key add PROVIDER --scope SCOPE`.") }
        KeyTable.print(keys, to: context.output)
    }
}

import ArgumentParser
import KeywardenCore

struct ConfigUnset: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset",
        abstract: "Remove a config entry from a scope.",
        discussion: """
        Examples:
          keywarden config unset ANTHROPIC_BASE_URL --scope prod
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Variable name.") var name: String
    @Option(help: "The scope.", completion: CompletionCandidates.scopes) var scope: String

    func run(_ context: CLIContext) async throws {
        try await Session.service(context, vault, command: "config unset").unsetConfig(scope: scope, name: name)
        context.output.line("Removed \(name) from \(scope).")
    }
}

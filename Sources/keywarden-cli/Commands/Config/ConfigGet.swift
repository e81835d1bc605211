import ArgumentParser
import KeywardenCore

struct ConfigGet: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print a config entry's value (from the scope or the nearest parent that has it).",
        discussion: """
        Prints the bare value, with a newline only on a terminal; every read is audited.

        Examples:
          keywarden config get ANTHROPIC_BASE_URL --scope prod
          export DATABASE_URL="$(keywarden config get DATABASE_URL --scope prod)"
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Variable name.") var name: String
    @Option(help: "The scope.", completion: CompletionCandidates.scopes) var scope: String

    func run(_ context: CLIContext) async throws {
        let entry = try await Session.service(context, vault, command: "config get").config(scope: scope, name: name)
        entry.value.withUnsafeBytes { context.output.raw($0) }
        if context.output.isTerminal() { context.output.line() }
    }
}

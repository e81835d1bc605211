import ArgumentParser
import KeywardenCore

struct ScopeRemove: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove an empty scope.",
        discussion: """
        Examples:
          keywarden scope rm qa
        """,
        aliases: ["remove"]
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Scope name.") var name: String

    func run(_ context: CLIContext) async throws {
        try await Session.service(context, vault, command: "scope rm").removeScope(name)
        context.output.line("Removed scope \(name).")
    }
}

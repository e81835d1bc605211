import ArgumentParser
import KeywardenCore

struct ScopeRemove: ParsableCommand {
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

    func run() throws {
        try Session.open(vault, command: "scope rm").removeScope(name)
        Output.line("Removed scope \(name).")
    }
}

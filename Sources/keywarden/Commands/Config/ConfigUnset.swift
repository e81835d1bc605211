import ArgumentParser
import KeywardenCore

struct ConfigUnset: ParsableCommand {
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
    @Option(help: "The scope.") var scope: String

    func run() throws {
        try Session.open(vault, command: "config unset").unsetConfig(scope: scope, name: name)
        Output.line("Removed \(name) from \(scope).")
    }
}

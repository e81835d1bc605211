import ArgumentParser
import KeywardenCore

struct ConfigGet: ParsableCommand {
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
    @Option(help: "The scope.") var scope: String

    func run() throws {
        let (_, value) = try Session.open(vault, command: "config get").getConfig(scope: scope, name: name)
        value.withUnsafeBytes { Output.raw($0) }
        if SecretInput.stdoutIsTerminal { Output.line() }
    }
}

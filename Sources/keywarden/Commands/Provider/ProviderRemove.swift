import ArgumentParser
import KeywardenCore

struct ProviderRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove a custom provider that has no keys.",
        discussion: """
        Examples:
          keywarden provider rm my-gateway
        """,
        aliases: ["remove"]
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Provider name.") var name: String

    func run() throws {
        try Session.open(vault, command: "provider rm").removeProvider(name)
        Output.line("Removed provider \(name).")
    }
}

import ArgumentParser
import KeywardenCore

struct ProviderRemove: KeywardenCommand {
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

    func run(_ context: CLIContext) async throws {
        try await Session.service(context, vault, command: "provider rm").removeProvider(name)
        context.output.line("Removed provider \(name).")
    }
}

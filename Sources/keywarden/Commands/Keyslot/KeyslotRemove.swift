import ArgumentParser
import KeywardenCore

struct KeyslotRemove: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a keyslot (never the last one).",
        discussion: """
        Examples:
          keywarden keyslot remove 2
        """,
        aliases: ["rm"]
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The keyslot id (see `keyslot list`).") var id: Int64

    func run(_ context: CLIContext) async throws {
        let removed = try await Session.service(context, vault, command: "keyslot remove").removeKeyslot(id: id)
        context.output.line("Removed keyslot \(removed.id) (\(removed.kind)).")
    }
}

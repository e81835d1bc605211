import ArgumentParser
import KeywardenCore

struct KeyslotRemove: ParsableCommand {
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

    func run() throws {
        let removed = try Session.open(vault, command: "keyslot remove").removeKeyslot(id: id)
        Output.line("Removed keyslot \(removed.id) (\(removed.kind)).")
    }
}

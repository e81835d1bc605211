import ArgumentParser
import KeywardenCore

struct KeyslotRemove: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a keyslot (never the last one).",
        discussion: """
        Name the slot by its id or its label (see `keyslot list`). Removing a
        host's slot (host:HOST) revokes that host: its keyfile no longer unlocks
        the vault. A process already running there keeps the vault it unlocked
        until it stops or is locked.

        Examples:
          keywarden keyslot remove 2
          keywarden keyslot remove host:web-3
        """,
        aliases: ["rm"]
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: ArgumentHelp("The keyslot's id or label (see `keyslot list`).", valueName: "id-or-label")) var slot: String

    func run(_ context: CLIContext) async throws {
        let service = try await Session.service(context, vault, command: "keyslot remove")
        let removed = if let id = Int64(slot) {
            try await service.removeKeyslot(id: id)
        } else {
            try await service.removeKeyslot(label: slot)
        }
        context.output.line(removed.label.hasPrefix(HostNames.labelPrefix)
            ? "Removed keyslot \(removed.id) (\(removed.kind), '\(removed.label)'): its keyfile no longer unlocks the vault."
            : "Removed keyslot \(removed.id) (\(removed.kind)).")
    }
}

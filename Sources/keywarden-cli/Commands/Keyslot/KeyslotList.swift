import ArgumentParser
import KeywardenCore

struct KeyslotList: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List keyslots.",
        discussion: """
        Examples:
          keywarden keyslot list
          keywarden keyslot list --json
        """
    )

    @OptionGroup var vault: VaultOptions
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let slots = try await Session.service(context, vault, command: "keyslot list").listKeyslots()
        if json { return try context.output.json(slots) }
        context.output.table(["ID", "KIND", "LABEL", "KDF", "CREATED"], slots.map { [String($0.id), $0.kind, $0.label, $0.kdf ?? "-", Output.time($0.createdAt)] })
    }
}

import ArgumentParser
import KeywardenCore

struct KeyslotList: ParsableCommand {
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

    func run() throws {
        let slots = try Session.open(vault, command: "keyslot list").listKeyslots()
        if json { return try Output.json(slots) }
        Output.table(["ID", "KIND", "LABEL", "KDF", "CREATED"], slots.map { [String($0.id), $0.kind, $0.label, $0.kdf ?? "-", Output.time($0.createdAt)] })
    }
}

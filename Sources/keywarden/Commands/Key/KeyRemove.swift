import ArgumentParser
import KeywardenCore

struct KeyRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete a key and its sealed value.",
        discussion: """
        Examples:
          keywarden key rm k_7hq2m4x9ab
        """,
        aliases: ["remove"]
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The key id.") var id: String

    func run() throws {
        let removed = try Session.open(vault, command: "key rm").removeKey(id: id)
        Output.line("Removed \(removed.provider) key \(removed.id) '\(removed.label)' from \(removed.scope).")
        if removed.state == .active {
            Output.error("keywarden: warning: it was the active \(removed.provider) key of \(removed.scope); activate another with `keywarden key activate ID`")
        }
    }
}

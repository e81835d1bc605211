import ArgumentParser
import KeywardenCore

struct KeyActivate: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate",
        abstract: "Make a key the active one of its provider and scope (the current one becomes standby).",
        discussion: """
        Examples:
          keywarden key activate k_7hq2m4x9ab
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The key id.", completion: CompletionCandidates.keyIDs) var id: String

    func run(_ context: CLIContext) async throws {
        let activated = try await Session.service(context, vault, command: "key activate").activateKey(id: id)
        let key = activated.key
        context.output.line("Key \(key.id) is the active \(key.provider) key of \(key.scope).")
        if let demoted = activated.demoted { context.output.line("Key \(demoted) is now standby.") }
    }
}

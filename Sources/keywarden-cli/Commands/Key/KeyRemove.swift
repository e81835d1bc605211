import ArgumentParser
import KeywardenCore

struct KeyRemove: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete a key and its sealed value.",
        discussion: """
        Removing the active key promotes the pool's oldest healthy standby key in the same
        transaction. Without one, it is refused unless --force (which leaves no active key).

        Examples:
          keywarden key rm k_7hq2m4x9ab
          keywarden key rm k_7hq2m4x9ab --force
        """,
        aliases: ["remove"]
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The key id.", completion: CompletionCandidates.keyIDs) var id: String
    @Flag(help: "Remove the active key even when no standby key can take over.") var force = false

    func run(_ context: CLIContext) async throws {
        let answer = try await Session.service(context, vault, command: "key rm").removeKey(id: id, force: force)
        let (removed, promoted) = (answer.removed, answer.promoted)
        context.output.line("Removed \(removed.provider) key \(removed.id) '\(removed.label)' from \(removed.scope).")
        if let promoted {
            context.output.line("Promoted standby \(promoted.id) '\(promoted.label)' to active \(removed.provider) key of \(removed.scope).")
        } else if removed.state == .active {
            context.output.error("keywarden: warning: it was the active \(removed.provider) key of \(removed.scope) and no standby could take over; \(removed.provider)/\(removed.scope) has no active key until you add or activate one (`keywarden key activate ID`)")
        }
    }
}

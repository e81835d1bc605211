import ArgumentParser
import KeywardenCore

struct ScopeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scope",
        abstract: "Manage scopes (dev, staging, prod, team/app, …); a scope inherits its parent's keys and config.",
        subcommands: [ScopeList.self, ScopeAdd.self, ScopeRemove.self]
    )
}

struct ScopeList: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List scopes.",
        discussion: """
        Examples:
          keywarden scope list
          keywarden scope list --json
        """,
        aliases: ["ls"]
    )

    @OptionGroup var vault: VaultOptions
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let scopes = try await Session.service(context, vault, command: "scope list").listScopes()
        if json { return try context.output.json(scopes) }
        context.output.table(["SCOPE", "PARENT", "KEYS", "CONFIG"], scopes.map { [$0.name, $0.parent ?? "-", String($0.keys), String($0.config)] })
    }
}

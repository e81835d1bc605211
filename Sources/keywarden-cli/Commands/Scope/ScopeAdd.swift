import ArgumentParser
import KeywardenCore

struct ScopeAdd: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Create a scope, optionally inheriting from a parent.",
        discussion: """
        Examples:
          keywarden scope add qa
          keywarden scope add team/app --parent prod
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Scope name (lower-case, '/' between parts).") var name: String
    @Option(help: "Inherit keys and config from this scope.") var parent: String?

    func run(_ context: CLIContext) async throws {
        let scope = try await Session.service(context, vault, command: "scope add").addScope(name, parent: parent)
        context.output.line("Created scope \(scope.name)\(scope.parent.map { " (inherits from \($0))" } ?? "").")
    }
}

import ArgumentParser
import KeywardenCore

struct ConfigList: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List config entries; secret values are masked.",
        discussion: """
        With --scope, entries inherited from parent scopes are listed too.

        Examples:
          keywarden config list --scope prod
          keywarden config list --json
        """,
        aliases: ["ls"]
    )

    @OptionGroup var vault: VaultOptions
    @Option(help: "Only this scope (and what it inherits).", completion: CompletionCandidates.scopes) var scope: String?
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let entries = try await Session.service(context, vault, command: "config list").listConfig(scope: scope)
        if json { return try context.output.json(entries) }
        if entries.isEmpty { return context.output.line("No config entries.") }
        context.output.table(["SCOPE", "NAME", "VALUE", "VERSION", "UPDATED"], entries.map { entry in
            [entry.inheritedBy != nil ? "\(entry.scope) (inherited)" : entry.scope, entry.name,
             entry.secret ? "******** (secret)" : Self.printable(entry.value ?? ""), String(entry.version), Output.time(entry.updatedAt)]
        })
    }

    /// Control characters would garble the table; show them escaped.
    static func printable(_ value: String) -> String {
        value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? $0.escaped(asASCII: true) : String($0) }.joined()
    }
}

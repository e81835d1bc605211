import ArgumentParser
import KeywardenCore

struct ConfigSet: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set a config entry (plain values may be given as an argument; secret ones come from stdin).",
        discussion: """
        Every value is sealed in the vault; plain entries are shown in listings, secret ones never.
        An entry that is secret stays secret when set again.

        Examples:
          keywarden config set ANTHROPIC_BASE_URL https://gateway.internal/anthropic \\
            --scope prod
          keywarden config set DATABASE_URL --secret --scope prod < db-url.txt
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Variable name ([A-Za-z_][A-Za-z0-9_]*).") var name: String
    @Argument(help: "The value, for plain entries (omit to read stdin).") var value: String?
    @Option(help: "The scope.", completion: CompletionCandidates.scopes) var scope: String
    @Flag(help: "Treat the value as a secret: read it from stdin or a prompt, never show it in listings.") var secret = false

    func validate() throws {
        if secret && value != nil {
            throw ValidationError("a --secret value is read from stdin or a prompt, never from the command line (where `ps` shows it); drop the VALUE argument")
        }
    }

    func run(_ context: CLIContext) async throws {
        let service = try await Session.service(context, vault, command: "config set")
        let bytes = try value.map { Secrets.secret(copying: $0.utf8) } ?? context.input.readValue(prompt: "Value of \(name) in \(scope): ")
        let answer = try await service.setConfig(Config.Set(scope: scope, name: name, value: bytes, secret: secret))
        let entry = answer.entry
        context.output.line("\(answer.created ? "Set" : "Updated") \(entry.name) in \(entry.scope) (version \(entry.version)\(entry.secret ? ", secret" : "")).")
    }
}

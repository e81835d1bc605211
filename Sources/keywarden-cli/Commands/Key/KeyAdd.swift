import ArgumentParser
import KeywardenCore

struct KeyAdd: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Store a provider key in a scope (the value comes from stdin or a prompt, never argv).",
        discussion: """
        The first key of a provider in a scope becomes active; later ones become standby
        unless --activate. A value that does not match the provider's key format is refused
        unless --force.

        Examples:
          keywarden key add anthropic --scope prod            # prompts, no echo
          pbpaste | keywarden key add openai --scope dev --label laptop
          keywarden key add gemini --scope prod --env GOOGLE_API_KEY < key.txt
          keywarden key add openai --scope prod --expires 90d < key.txt
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Provider name (see `keywarden provider list`).", completion: CompletionCandidates.providers) var provider: String
    @Option(help: "The scope to store the key in.", completion: CompletionCandidates.scopes) var scope: String
    @Option(help: "A name for this key, unique in its provider and scope.") var label: String?
    @Option(help: ArgumentHelp("Environment variable to deliver it as (default: the provider's).", valueName: "NAME")) var env: String?
    @Flag(help: "Make it the active key now; the current active key becomes standby.") var activate = false
    @Flag(help: "Store a value that does not match the provider's key format.") var force = false
    @Flag(help: "An admin or management key for `rotate policy --via` (in a scope of its own): never delivered by export, run, inject, the agent or the gateway unless asked (`export --include-admin`).")
    var admin = false
    @Option(help: ArgumentHelp("When the key stops working: a duration from now (90d, 12w) or a UTC date (2027-03-01). `status` warns 7 days ahead; a pool with a rotation policy is due before it.", valueName: "when"))
    var expires: String?

    func run(_ context: CLIContext) async throws {
        let service = try await Session.service(context, vault, command: "key add")
        // The provider first: an unknown one is refused before a value is asked for.
        let definition = try await service.providerDefinition(named: provider)
        let value = try context.input.readValue(prompt: "\(definition.displayName) key for \(scope): ")
        let added = try await service.addKey(Keys.Add(provider: provider, scope: scope, label: label, env: env, value: value, activate: activate, force: force, admin: admin).expiring(expires))
        for warning in added.warnings { context.output.error("keywarden: warning: \(warning)") }
        let key = added.key
        context.output.line("Added \(key.provider) key \(key.id) '\(key.label)' to \(key.scope) as \(key.env)\(key.role == .admin ? " (admin key, never delivered)" : ""): \(key.hint), \(key.state.rawValue), fingerprint \(Output.short(key.fingerprint))")
        if let expires = key.expires { context.output.line("It expires \(Output.time(expires)).") }
        if let demoted = added.demoted { context.output.line("Key \(demoted) is now standby.") }
    }
}

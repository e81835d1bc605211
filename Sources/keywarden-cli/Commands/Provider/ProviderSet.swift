import ArgumentParser
import KeywardenCore

struct ProviderSet: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Change a provider's base URL (gateway, region, local test server) or default variable.",
        discussion: """
        Examples:
          keywarden provider set anthropic \\
            --base-url https://gateway.internal/anthropic
          keywarden provider set zhipu --base-url https://api.z.ai/api/paas/v4
          keywarden provider set azure-openai \\
            --base-url https://my-resource.openai.azure.com
          keywarden provider set anthropic --reset-base-url
          keywarden provider set openai --base-url http://127.0.0.1:8080/openai
          keywarden provider set openai --base-url http://gw.lan --allow-insecure-http

        A plain http:// base URL is refused unless its host is loopback (127.0.0.0/8, ::1, localhost) or --allow-insecure-http is given: over plain HTTP anyone on the network path reads the key. The permission is stored with that URL, shown by `provider show`, recorded in the audit trail, and cleared by the next --base-url given without it.
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Provider name.") var name: String
    @Option(help: "New base URL.") var baseURL: String?
    @Flag(help: "Go back to the built-in base URL.") var resetBaseURL = false
    @Option(help: "New default environment variable for keys added from now on.") var env: String?
    @Flag(help: "Accept a plain http:// --base-url to a host that is not loopback (keys travel unencrypted).") var allowInsecureHttp = false

    func validate() throws {
        if baseURL != nil && resetBaseURL { throw ValidationError("--base-url and --reset-base-url exclude each other") }
    }

    func run(_ context: CLIContext) async throws {
        let updated = try await Session.service(context, vault, command: "provider set").updateProvider(
            Providers.Set(name: name, baseURL: baseURL, env: env, resetBaseURL: resetBaseURL, allowInsecureHTTP: allowInsecureHttp))
        context.output.line("Provider \(updated.name): base URL \(updated.baseURL)\(updated.allowInsecureHTTP ? " (plain HTTP allowed: keys travel unencrypted)" : ""), env \(updated.env).")
    }
}

import ArgumentParser
import KeywardenCore

struct ProviderSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Change a provider's base URL (gateway, region, local test server) or default variable.",
        discussion: """
        Examples:
          keywarden provider set anthropic --base-url https://gateway.internal/anthropic
          keywarden provider set zhipu --base-url https://api.z.ai/api/paas/v4
          keywarden provider set azure-openai --base-url https://my-resource.openai.azure.com
          keywarden provider set anthropic --reset-base-url
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Provider name.") var name: String
    @Option(help: "New base URL.") var baseURL: String?
    @Flag(help: "Go back to the built-in base URL.") var resetBaseURL = false
    @Option(help: "New default environment variable for keys added from now on.") var env: String?

    func validate() throws {
        if baseURL != nil && resetBaseURL { throw ValidationError("--base-url and --reset-base-url exclude each other") }
    }

    func run() throws {
        let updated = try Session.open(vault, command: "provider set").updateProvider(name, baseURL: baseURL, env: env, resetBaseURL: resetBaseURL)
        Output.line("Provider \(updated.name): base URL \(updated.baseURL), env \(updated.env).")
    }
}

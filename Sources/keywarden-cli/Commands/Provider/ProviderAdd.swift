import ArgumentParser
import KeywardenCore

struct ProviderAdd: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Define a custom provider (an internal gateway, a self-hosted model server, any HTTP API).",
        discussion: """
        Examples:
          keywarden provider add my-gateway --base-url https://llm.internal \\
            --env GATEWAY_API_KEY
          keywarden provider add acme --base-url https://api.acme.dev \\
            --env ACME_TOKEN --auth header:X-Api-Key --key-prefix acme_ \\
            --key-pattern 'acme_[A-Za-z0-9]{32}' --probe-path /v1/me
          keywarden provider add my-relay --base-url https://relay.example.com \\
            --env RELAY_API_KEY --probe-path /v1/models --rules relay-rules.json

        --rules FILE: a JSON array of rules, each {"status": [CODES], "body_contains": [TEXT],
        "json": [{"path": "error.code", "equals": VALUE} or {"path": …, "contains": TEXT}],
        "outcome": OUTCOME, "reason": TEXT, "fix": TEXT}, checked in order before the built-in
        rules for user-defined providers (relay quota and channel errors, credit wording) and the
        status rules. See docs/key-health.md, "TLS verdicts and relay gateways".
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Provider name (lower-case letters, digits, '-').") var name: String
    @Option(help: "Base URL, e.g. https://api.example.com/v1.") var baseURL: String
    @Option(help: "Default environment variable for its keys.") var env: String
    @Option(help: "How the key is sent: bearer, header:NAME or query:NAME.") var auth: String = "bearer"
    @Option(help: ArgumentHelp("An extra header for every request, NAME:VALUE (repeatable).", valueName: "header")) var header: [String] = []
    @Option(help: "Regular expression a key must match.") var keyPattern: String?
    @Option(help: "Literal prefix of its keys (repeatable), used for hints and import.") var keyPrefix: [String] = []
    @Option(help: "Path of the request that checks a key, e.g. /v1/models.") var probePath: String?
    @Option(help: "Method of that request (GET or POST).") var probeMethod: String = "GET"
    @Option(help: "Human name (default: the name).") var displayName: String?
    @Option(help: ArgumentHelp("A JSON file of rules that classify the probe's answers (see below).", valueName: "file")) var rules: String?
    @Flag(help: "Accept a plain http:// --base-url to a host that is not loopback (keys travel unencrypted).") var allowInsecureHttp = false

    func run(_ context: CLIContext) async throws {
        // Checked before the vault is asked, so a typo costs no unlock.
        var request = try Providers.Add.custom(
            name: name, displayName: displayName, baseURL: baseURL, env: env, auth: auth, headers: header, keyPattern: keyPattern,
            keyPrefixes: keyPrefix, probePath: probePath, probeMethod: probeMethod, allowInsecureHTTP: allowInsecureHttp)
        if let rules {
            request.provider.definition.rules = try ProviderRulesFile.parse(InputFile.read(rules, input: context.input), file: rules)
        }
        try await Session.service(context, vault, command: "provider add").addProvider(request)
        context.output.line("Added provider \(name) (\(baseURL), key as \(request.provider.definition.auth.summary), env \(env)).")
    }
}

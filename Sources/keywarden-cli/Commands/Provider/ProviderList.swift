import ArgumentParser
import KeywardenCore

struct ProviderList: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List built-in and custom providers.",
        discussion: """
        Examples:
          keywarden provider list
          keywarden provider list --json
        """,
        aliases: ["ls"]
    )

    @OptionGroup var vault: VaultOptions
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let providers = try await Session.service(context, vault, command: "provider list").providers()
        if json { return try context.output.json(providers.map(ProviderJSON.init)) }
        context.output.table(["PROVIDER", "ENV", "BASE URL", "KEY SENT AS", "SOURCE", "KEYS"], providers.map { info in
            let d = info.definition
            return [d.name, d.env, d.baseURL, d.auth.summary, info.source, String(info.keys)]
        })
    }
}

/// The JSON form of a provider: its definition's fields plus source and key count.
struct ProviderJSON: Encodable {
    var info: ProviderInfo

    init(_ info: ProviderInfo) { self.info = info }

    enum CodingKeys: String, CodingKey {
        case name, displayName = "display_name", baseURL = "base_url", auth, headers, env, alternateEnv = "alternate_env"
        case keyFormat = "key_format", probe, consoleURL = "console_url", allowInsecureHTTP = "allow_insecure_http", source, keys
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        let d = info.definition
        try c.encode(d.name, forKey: .name)
        try c.encode(d.displayName, forKey: .displayName)
        try c.encode(d.baseURL, forKey: .baseURL)
        try c.encode(d.auth, forKey: .auth)
        try c.encode(d.headers, forKey: .headers)
        try c.encode(d.env, forKey: .env)
        try c.encode(d.alternateEnv, forKey: .alternateEnv)
        try c.encodeIfPresent(d.keyFormat, forKey: .keyFormat)
        try c.encodeIfPresent(d.probe, forKey: .probe)
        try c.encodeIfPresent(d.consoleURL, forKey: .consoleURL)
        try c.encode(d.allowInsecureHTTP, forKey: .allowInsecureHTTP)
        try c.encode(info.source, forKey: .source)
        try c.encode(info.keys, forKey: .keys)
    }
}

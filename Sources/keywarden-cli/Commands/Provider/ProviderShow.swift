import ArgumentParser
import KeywardenCore

struct ProviderShow: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one provider's definition.",
        discussion: """
        Examples:
          keywarden provider show anthropic
          keywarden provider show zhipu --json
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Provider name.") var name: String
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let info = try await Session.service(context, vault, command: "provider show").provider(name)
        if json { return try context.output.json(ProviderJSON(info)) }
        let d = info.definition
        var rows: [(String, String)] = [
            ("name", d.name), ("display name", d.displayName), ("source", info.source), ("base URL", d.baseURL),
            ("key sent as", d.auth.summary), ("env", d.env),
        ]
        if !d.alternateEnv.isEmpty { rows.append(("also read", d.alternateEnv.joined(separator: ", "))) }
        for (header, value) in d.headers.sorted(by: { $0.key < $1.key }) { rows.append(("header", "\(header): \(value)")) }
        if d.baseURL.lowercased().hasPrefix("http://") {
            rows.append(("plain HTTP", d.allowInsecureHTTP ? "allowed by --allow-insecure-http: keys travel unencrypted" : "loopback only"))
        }
        if let format = d.keyFormat { rows.append(("key format", format.description)) }
        if let probe = d.probe { rows.append(("probe", "\(probe.method) \(d.baseURL)\(probe.path)")) }
        if let balance = d.balance {
            rows.append(("balance", "\(balance.path.map { "GET \(d.baseURL)\($0)" } ?? "the probe's answer"), field \(balance.amount) (recorded by validate)"))
        }
        if let rules = d.rules, !rules.isEmpty { rows.append(("own rules", "\(rules.count), before the built-in ones")) }
        if let console = d.consoleURL { rows.append(("manage keys", console)) }
        rows.append(("keys stored", String(info.keys)))
        for (name, value) in rows { context.output.line(name.padding(toLength: 13, withPad: " ", startingAt: 0) + value) }
    }
}

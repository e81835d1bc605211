import ArgumentParser
import KeywardenCore

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Manage provider API keys.",
        subcommands: [KeyAdd.self, KeyList.self, KeyShow.self, KeyRemove.self, KeyActivate.self]
    )
}

extension KeyState: ExpressibleByArgument {}

enum KeyTable {
    /// The gateway's columns (last 24 hours) appear only when some listed key has traffic.
    static func print(_ keys: [KeyInfo], to output: Output) {
        let traffic = keys.contains { $0.traffic24h != nil }
        output.table(
            ["ID", "PROVIDER", "SCOPE", "LABEL", "ENV", "STATE", "HINT", "FINGERPRINT", "CHECKED"] + (traffic ? ["24H OK", "FAILED", "429"] : []),
            keys.map { key in
                [key.id, key.provider, key.inheritedBy != nil ? "\(key.scope) (inherited)" : key.scope, key.label, key.env,
                 key.state.rawValue, key.hint, Output.short(key.fingerprint),
                 key.outcome.map { "\($0) \(Output.time(key.checkedAt))" } ?? "never"]
                    + (traffic ? [key.traffic24h?.ok, key.traffic24h?.failed, key.traffic24h?.rateLimited].map { $0.map(String.init) ?? "-" } : [])
            })
    }
}

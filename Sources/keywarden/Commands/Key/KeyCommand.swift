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
    static func print(_ keys: [KeyInfo], to output: Output) {
        output.table(
            ["ID", "PROVIDER", "SCOPE", "LABEL", "ENV", "STATE", "HINT", "FINGERPRINT", "CHECKED"],
            keys.map { key in
                [key.id, key.provider, key.inheritedBy != nil ? "\(key.scope) (inherited)" : key.scope, key.label, key.env,
                 key.state.rawValue, key.hint, Output.short(key.fingerprint),
                 key.outcome.map { "\($0) \(Output.time(key.checkedAt))" } ?? "never"]
            })
    }
}

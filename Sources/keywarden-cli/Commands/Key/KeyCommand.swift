import ArgumentParser
import KeywardenCore

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Manage provider API keys.",
        subcommands: [KeyAdd.self, KeyList.self, KeyShow.self, KeyRemove.self, KeyActivate.self, KeyCheckCommand.self]
    )
}

extension KeyState: ExpressibleByArgument {}

enum KeyTable {
    /// The gateway's columns (last 24 hours) appear only when some listed key has traffic;
    /// the balance column only when some listed key has one.
    static func print(_ keys: [KeyInfo], to output: Output) {
        let traffic = keys.contains { $0.traffic24h != nil }
        let balances = keys.contains { $0.balance != nil }
        let expiries = keys.contains { $0.expires != nil }
        var header = ["ID", "PROVIDER", "SCOPE", "LABEL", "ENV", "STATE", "HINT", "FINGERPRINT", "CHECKED"]
        if balances { header.append("BALANCE") }
        if expiries { header.append("EXPIRES") }
        if traffic { header += ["24H OK", "FAILED", "429"] }
        output.table(
            header,
            keys.map { key in
                var row: [String] = [key.id, key.provider, key.inheritedBy != nil ? "\(key.scope) (inherited)" : key.scope, key.label, key.env,
                                     key.state.rawValue, key.hint, Output.short(key.fingerprint),
                                     key.outcome.map { "\($0) \(Output.time(key.checkedAt))" } ?? "never"]
                if balances { row.append(key.balance?.display ?? "-") }
                if expiries { row.append(key.expires.map { String($0.iso8601.prefix(10)) } ?? "-") }
                if traffic {
                    row += [key.traffic24h?.ok, key.traffic24h?.failed, key.traffic24h?.rateLimited].map { $0.map(String.init) ?? "-" }
                }
                return row
            })
    }
}

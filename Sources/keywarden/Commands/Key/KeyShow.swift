import Foundation
import ArgumentParser
import KeywardenCore
import KeywardenCrypto

struct KeyShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a key's metadata, or with --reveal print its value.",
        discussion: """
        --reveal prints only the value (and a newline on a terminal), so that it can be piped;
        every reveal is recorded in the audit trail.

        Examples:
          keywarden key show k_7hq2m4x9ab
          keywarden key show k_7hq2m4x9ab --reveal | pbcopy
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The key id (see `key list`).") var id: String
    @Flag(help: "Print the key's value.") var reveal = false
    @Flag(help: "Print JSON (metadata only).") var json = false

    func validate() throws {
        if reveal && json { throw ValidationError("--reveal prints the bare value; it cannot be combined with --json") }
    }

    func run() throws {
        if reveal, vault.keyfile == nil, let agent = AgentClient.available(environment: Session.environment) {
            var answer = try agent.check(agent.request("GET", "/v1/values/\(AgentClient.query(id))", purpose: "key show --reveal"))
            defer { wipe(&answer.body) }
            let served = try JSONDecoder().decode([String: String].self, from: Data(answer.body))
            Output.raw(Array((served["value"] ?? "").utf8))
            if SecretInput.stdoutIsTerminal { Output.line() }
            return
        }
        let opened = try Session.open(vault, command: "key show")
        if reveal {
            let (_, value) = try opened.revealKey(id: id)
            value.withUnsafeBytes { Output.raw($0) }
            if SecretInput.stdoutIsTerminal { Output.line() }
            return
        }
        let key = try opened.key(id: id)
        if json { return try Output.json(key) }
        let rows: [(String, String)] = [
            ("id", key.id), ("provider", key.provider), ("scope", key.scope), ("label", key.label), ("env", key.env),
            ("state", key.state.rawValue), ("hint", key.hint), ("fingerprint", key.fingerprint), ("version", String(key.version)),
            ("created", Output.time(key.createdAt)), ("activated", Output.time(key.activatedAt)),
            ("last check", key.outcome.map { "\($0) at \(Output.time(key.checkedAt))\(key.detail.map { ": \($0)" } ?? "")" } ?? "never"),
        ]
        // Label and last detail are stored text: no terminal controls.
        for (name, value) in rows { Output.line(name.padding(toLength: 12, withPad: " ", startingAt: 0) + DisplayText.sanitized(value)) }
    }
}

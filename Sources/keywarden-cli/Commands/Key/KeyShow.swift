import ArgumentParser
import KeywardenCore

struct KeyShow: KeywardenCommand {
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
    @Argument(help: "The key id (see `key list`).", completion: CompletionCandidates.keyIDs) var id: String
    @Flag(help: "Print the key's value.") var reveal = false
    @Flag(help: "Print JSON (metadata only).") var json = false

    func validate() throws {
        if reveal && json { throw ValidationError("--reveal prints the bare value; it cannot be combined with --json") }
    }

    func run(_ context: CLIContext) async throws {
        let service = try await Session.service(context, vault, command: "key show")
        if reveal {
            let revealed = try await service.revealKey(id: id, purpose: "key show --reveal")
            // Exact bytes, so that it can be piped; a newline only for a person reading it.
            revealed.value.withUnsafeBytes { context.output.raw($0) }
            if context.output.isTerminal() { context.output.line() }
            return
        }
        let key = try await service.key(id: id)
        if json { return try context.output.json(key) }
        var rows: [(String, String)] = [
            ("id", key.id), ("provider", key.provider), ("scope", key.scope), ("label", key.label), ("env", key.env),
            ("state", key.state.rawValue), ("hint", key.hint), ("fingerprint", key.fingerprint), ("version", String(key.version)),
            ("created", Output.time(key.createdAt)), ("activated", Output.time(key.activatedAt)),
            ("last check", key.outcome.map { "\($0) at \(Output.time(key.checkedAt))\(key.detail.map { ": \($0)" } ?? "")" } ?? "never"),
        ]
        if let balance = key.balance { rows.append(("balance", "\(balance.display) at \(Output.time(balance.checkedAt))")) }
        if let limits = key.rateLimits {
            rows.append(("rate limits", "\(limits.display) remaining, seen by \(limits.source) at \(Output.time(limits.seenAt))"))
        }
        if let expires = key.expires { rows.append(("expires", Output.time(expires))) }
        if let cause = key.failedBecause {
            let probes = key.probeAttempts ?? 0
            rows.append(("failed for", "\(cause); " + (key.nextProbeAt.map { "next recovery probe at \(Output.time($0)) (\(probes) probe\(probes == 1 ? "" : "s") so far)" }
                ?? "not probed on its own: fix it at the provider, then `keywarden key check \(key.id)`")))
        }
        // Label and last detail are stored text: no terminal controls.
        for (name, value) in rows { context.output.line(name.padding(toLength: 12, withPad: " ", startingAt: 0) + DisplayText.sanitized(value)) }
    }
}

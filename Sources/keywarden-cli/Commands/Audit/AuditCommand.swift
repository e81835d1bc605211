import ArgumentParser
import KeywardenCore

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the audit trail, or verify its hash chain.",
        discussion: """
        `keywarden audit` lists events (see `keywarden audit list --help` for the
        filters); --action takes a name, a family (key) or a last part (unlock).
        The actions:
        \(AuditList.actionList)
        """,
        subcommands: [AuditList.self, AuditVerify.self],
        defaultSubcommand: AuditList.self
    )
}

struct AuditList: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List audit events (the default of `keywarden audit`).",
        discussion: """
        --action takes an action name, a family (key: every key.…) or the part after
        the dot (unlock: vault.unlock). The actions:
        \(actionList)

        Examples:
          keywarden audit
          keywarden audit --failed-auth --since 7d
          keywarden audit --key k_7hq2m4x9ab --json
          keywarden audit --action key --provider anthropic
          keywarden audit --action unlock
        """
    )

    /// The action names, a few to a line, indented and short enough that the
    /// help's wrapping at 80 columns leaves the lines alone.
    static var actionList: String {
        var lines: [String] = []
        var line = ""
        for name in AuditActions.names {
            if !line.isEmpty, line.count + name.count + 2 > 72 {
                lines.append("  " + line + ",")
                line = ""
            }
            line += line.isEmpty ? name : ", " + name
        }
        if !line.isEmpty { lines.append("  " + line) }
        return lines.joined(separator: "\n")
    }

    @OptionGroup var vault: VaultOptions
    @Flag(help: "Only events where a key failed authentication (invalid or forbidden).") var failedAuth = false
    @Option(help: "Only this provider.", completion: CompletionCandidates.providers) var provider: String?
    @Option(help: "Only this scope.", completion: CompletionCandidates.scopes) var scope: String?
    @Option(name: .customLong("key"), help: "Only this key id.") var keyID: String?
    @Option(help: "Only this action (key.add), family (key) or last part (unlock).") var action: String?
    @Option(help: ArgumentHelp("Only events newer than a duration (30m, 7d) or a time (2026-11-01T00:00:00Z).", valueName: "when")) var since: String?
    @Option(help: "Only the newest N events.") var limit: Int?
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        var filter = AuditFilter()
        filter.failedAuth = failedAuth
        filter.provider = provider
        filter.scope = scope
        filter.keyID = keyID
        filter.action = try action.map { text throws(KeywardenError) in try AuditActions.normalize(text) }
        filter.limit = limit
        if let since {
            if let duration = DurationSpec(parsing: since) {
                filter.since = context.clock().adding(seconds: -duration.seconds)
            } else if let time = Timestamp(iso8601: since) {
                filter.since = time
            } else {
                throw KeywardenError(.invalidInput, "invalid --since '\(since)': use a duration like 30m, 24h, 7d or a time like 2026-11-01T00:00:00Z")
            }
        }
        if let limit, limit <= 0 { throw KeywardenError(.invalidInput, "invalid --limit \(limit): use a positive number") }
        let events = try await Session.service(context, vault, command: "audit").auditEvents(filter)
        if json { return try context.output.json(events) }
        if events.isEmpty { return context.output.line("No matching events.") }
        context.output.table(["SEQ", "TIME", "ACTOR", "ACTION", "PROVIDER", "SCOPE", "KEY", "OUTCOME", "DETAIL"], events.map { e in
            [String(e.seq) + (e.sealed ? "" : "*") + (e.sealed && !e.authenticated ? "!" : ""), Output.time(Timestamp(iso8601: e.at)), "\(e.actor) (uid \(e.uid), pid \(e.pid))", e.action,
             e.provider ?? "-", e.scope ?? "-", e.keyID ?? "-", e.outcome, e.detail ?? ""]
        })
        if events.contains(where: { !$0.sealed }) {
            context.output.line("* written while the vault was locked; sealed into the chain at the next unlock")
        }
        if events.contains(where: { $0.sealed && !$0.authenticated }) {
            context.output.line("! recorded while the vault was locked: its place in the chain is checked, its content is not authenticated")
        }
    }
}

struct AuditVerify: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the audit trail's hash chain; exit 4 at the first altered, deleted or reordered event.",
        discussion: """
        Examples:
          keywarden audit verify
          keywarden audit verify --json
        """
    )

    @OptionGroup var vault: VaultOptions
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let result = try await Session.service(context, vault, command: "audit verify").verifyAudit()
        if json {
            try context.output.json(result)
        } else if result.ok {
            context.output.line("Audit trail intact: \(result.checked) events verified\(result.unsealed > 0 ? ", \(result.unsealed) recent event(s) not yet sealed" : "").")
            if result.unauthenticated > 0 {
                context.output.line("\(result.unauthenticated) of them were recorded while the vault was locked: chained, but their content is not authenticated.")
            }
            for note in result.notes { context.output.line("Note: \(DisplayText.sanitized(note))") }
        } else {
            context.output.line("Audit trail BROKEN: \(DisplayText.sanitized(result.problem ?? "unknown problem"))")
            context.output.line("\(result.checked) events before it verified.")
        }
        if !result.ok { throw CommandFailure(code: ExitCode.integrity, message: "") }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import KeywardenClient
import KeywardenCore

/// The operator's one screen: is the agent up (and unlocked), what the vault
/// holds, and what needs a person now — keys failing, rotations due, balances
/// running low, expiries, network incidents.
struct Status: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The agent, the vault, and what needs attention: failing keys, rotations due, low balances, network incidents.",
        discussion: """
        Examples:
          keywarden status
          keywarden status --warn-below 5   # balances under 5 are running low
          keywarden status --json           # plus "agent" and "attention"
        """
    )

    @OptionGroup var vault: VaultOptions
    @Option(help: ArgumentHelp("List balances below this amount as running low (default: 0 or less).", valueName: "amount"))
    var warnBelow: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let warnBelow { _ = try BalanceWarning.threshold(warnBelow) }
    }

    func run(_ context: CLIContext) async throws {
        let agent = await AgentLine.probe(context.environment)
        let service: any KeywardenService
        do {
            service = try await Session.service(context, vault, command: "status")
        } catch {
            // A locked (or no) agent and no credentials: the agent's line still answers the first question.
            if !json { context.output.line("agent     \(agent.text)") }
            throw error
        }
        let status = try await service.status()
        let attention = try await service.statusAttention()
        if json { return try context.output.json(StatusDocument(agent: agent, vault: status, attention: attention)) }
        let out = context.output
        out.line("agent     \(agent.text)")
        out.line("vault     \(status.path)")
        out.line("id        \(status.vaultId)")
        out.line("schema    \(status.schema.joined(separator: ", "))")
        out.line("created   \(Output.time(status.createdAt))")
        out.line("keyslots  \(status.keyslots)")
        out.line("scopes    \(status.scopes)")
        out.line("keys      \(status.keys) (\(status.activeKeys) active)")
        out.line("config    \(status.config)")
        out.line("audit     \(status.auditEvents) events")
        if let traffic = status.gatewayTraffic24h {
            out.line("gateway traffic (24 h): \(traffic.total) requests, \(traffic.failed) failed, \(traffic.rateLimited) rate-limited")
        }
        Self.printFailing(attention.failingKeys, to: out)
        Self.printRotations(attention.nextRotations, to: out)
        if StatusBalances.lines(status.balances).isEmpty == false { out.line() }
        StatusBalances.print(status.balances, warnBelow: try warnBelow.map(BalanceWarning.threshold), to: out)
        StatusKeyHealth.print(status, to: out)
    }

    static func printFailing(_ keys: [KeyInfo], to out: Output) {
        out.line()
        guard !keys.isEmpty else { return out.line("Keys failing now: none") }
        out.line("Keys failing now (\(keys.count)):")
        for key in keys {
            let why = [key.outcome, key.detail].compactMap { $0 }.joined(separator: ": ")
            let probe = key.nextProbeAt.map { "  (probed again \(Output.time($0)))" } ?? ""
            out.line("  \(key.id)  \(key.provider)/\(key.scope)  \(key.state.rawValue)\(why.isEmpty ? "" : "  \(why)")\(probe)")
        }
        out.line("  (keywarden doctor PROVIDER --scope S explains; keywarden validate --key ID checks again)")
    }

    static func printRotations(_ rotations: [UpcomingRotation], to out: Output) {
        out.line()
        guard !rotations.isEmpty else { return out.line("Next rotations: none scheduled (keywarden rotate policy … --every 30d sets one)") }
        out.line("Next rotations:")
        for rotation in rotations {
            out.line("  \(rotation.provider)/\(rotation.scope)  \(rotation.key)  \(rotation.overdue ? "overdue since" : "due") \(Output.time(rotation.due))")
        }
    }
}

/// `status --json`: the vault's fields at the top level (as before there was
/// more to the screen, so scripts reading them keep working), plus `agent`
/// and `attention`.
struct StatusDocument: Encodable {
    var agent: AgentLine
    var vault: VaultStatus
    var attention: StatusAttention

    enum CodingKeys: String, CodingKey { case agent, attention }

    func encode(to encoder: any Encoder) throws {
        try vault.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(agent, forKey: .agent)
        try container.encode(attention, forKey: .attention)
    }
}

/// Whether an agent answers on the configured socket, and whether it is locked.
struct AgentLine: Encodable {
    /// `running`, `locked` or `not running`.
    var state: String
    var socket: String
    var pid: Int32?

    var text: String {
        switch state {
        case "running": "running (pid \(pid.map(String.init) ?? "?")) at \(socket)"
        case "locked": "locked (pid \(pid.map(String.init) ?? "?")) at \(socket); `keywarden serve` unlocks it"
        default: "not running (start it with `keywarden serve`, or `systemctl --user start keywarden`)"
        }
    }

    static func probe(_ environment: [String: String]) async -> AgentLine {
        let socket = AgentSocketPath.resolve(environment: environment)
        // The same trust checks as every command; a refusal is reported by the command's own connection.
        guard let agent = await AgentConnector.reach(socket: socket, command: "keywarden status", warn: { _ in }),
              let health = await agent.health() else {
            return AgentLine(state: "not running", socket: socket, pid: nil)
        }
        let pid = agent.peer.pid > 0 ? agent.peer.pid : nil
        return AgentLine(state: health.locked ? "locked" : "running", socket: socket, pid: pid)
    }
}

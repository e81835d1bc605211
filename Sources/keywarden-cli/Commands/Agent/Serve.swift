#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import KeywardenCore
import KeywardenServer
import Logging

struct Serve: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the agent: unlock once, then serve keys to local programs over a Unix socket.",
        discussion: """
        Listens on --socket, else $KEYWARDEN_SOCKET, else $XDG_RUNTIME_DIR/keywarden/agent.sock, else
        ~/.local/state/keywarden/run/agent.sock: a 0600 socket in a 0700 folder (0660 and that group
        with --socket-group). The agent's own user and root have full access; other users need a token
        (`keywarden token create`). SIGTERM or SIGINT stop it cleanly. The API: docs/api.md; as a systemd service: docs/operations.md.

        With --gateway it is also the LLM gateway on loopback TCP: programs send provider requests to
        http://127.0.0.1:8788/{provider}/… with a Keywarden token, and the agent adds the key
        (docs/gateway.md).

        Examples:
          keywarden serve
          keywarden serve --gateway                  # on 127.0.0.1:8788
          keywarden serve --gateway 127.0.0.1:0      # any free port (see /v1/health)
          keywarden serve --socket /run/keywarden/agent.sock --socket-group deploy
          curl --unix-socket "$XDG_RUNTIME_DIR/keywarden/agent.sock" \\
            'http://k/v1/keys/anthropic?scope=prod'
        """
    )

    @OptionGroup var vault: VaultOptions
    @Option(help: ArgumentHelp("The Unix socket to listen on.", valueName: "path")) var socket: String?
    @Option(help: ArgumentHelp("Let this group connect too (socket 0660).", valueName: "group")) var socketGroup: String?
    @Option(help: ArgumentHelp("How often the rotation scheduler runs ('off' to disable).", valueName: "duration")) var rotationInterval: String = "5m"
    @Option(help: ArgumentHelp("Failed keys that may heal (rate limited, out of credit, provider error) are probed again 1 minute after they failed, then 2, 4, 8 … minutes later, never more than this apart ('off': no probes).", valueName: "duration"))
    var recoveryMaxBackoff: String = "6h"
    @Option(name: .customLong("gateway"),
            help: ArgumentHelp("Also be the LLM gateway on loopback TCP at ADDR (`--gateway` alone: \(Serve.defaultGatewayAddress); port 0 picks one).", valueName: "addr"))
    var gatewayAddress: String?
    @Option(help: ArgumentHelp("The scope the gateway serves the owner (and multi-scope tokens) when a request names none (x-keywarden-scope).", valueName: "scope"))
    var gatewayScope: String?
    @Option(help: ArgumentHelp("How long the gateway waits for a provider's answer to begin, per attempt.", valueName: "duration"))
    var gatewayTimeout: String = "600s"
    @Option(help: ArgumentHelp("No gateway retry starts later than this after the request arrived.", valueName: "duration"))
    var gatewayRetryBudget: String = "60s"
    @Flag(help: "Gateway: HTTP/1.1 only to providers (one connection per concurrent request) instead of HTTP/2 where offered.")
    var gatewayHttp1 = false
    @Option(help: ArgumentHelp("Gateway: also trust the CA certificates in this PEM file (else $KEYWARDEN_CA_FILE).", valueName: "path"))
    var caFile: String?
    /// Set only by the agent itself after `lock`: serve "locked" without opening the vault.
    @Option(help: ArgumentHelp("PostgreSQL vaults: how long to keep serving the keys this agent holds while the database cannot be reached (its audit events kept on this host until it answers); 0 to stop serving at once.", valueName: "duration"))
    var databaseOutageGrace: String = "10m"
    @Flag(help: .hidden) var locked = false

    static let defaultGatewayAddress = "127.0.0.1:8788"

    /// ArgumentParser has no option whose value may be left out: a bare
    /// `serve --gateway` (last, or before another option) becomes
    /// `--gateway=127.0.0.1:8788` before parsing.
    static func expandingBareGateway(_ arguments: [String]) -> [String] {
        guard arguments.first(where: { !$0.hasPrefix("-") }) == "serve" else { return arguments }
        var out = arguments
        for (i, argument) in arguments.enumerated() where argument == "--gateway" {
            if i + 1 == arguments.count || arguments[i + 1].hasPrefix("-") { out[i] = "--gateway=\(defaultGatewayAddress)" }
        }
        return out
    }

    /// The gateway's listen address and settings, or nil without `--gateway`.
    func gatewayListen(_ environment: [String: String]) throws(KeywardenError) -> GatewayListen? {
        guard let gatewayAddress else { return nil }
        var host = gatewayAddress, portText = ""
        if gatewayAddress.hasPrefix("["), let end = gatewayAddress.firstIndex(of: "]") {
            host = String(gatewayAddress[gatewayAddress.index(after: gatewayAddress.startIndex)..<end])
            portText = String(gatewayAddress[gatewayAddress.index(after: end)...].drop { $0 == ":" })
        } else if let colon = gatewayAddress.lastIndex(of: ":") {
            host = String(gatewayAddress[..<colon])
            portText = String(gatewayAddress[gatewayAddress.index(after: colon)...])
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw KeywardenError(.invalidInput, "--gateway: '\(gatewayAddress)' is not HOST:PORT (e.g. \(Self.defaultGatewayAddress), or 127.0.0.1:0 for any free port)")
        }
        guard LoopbackHost.contains(host) else {
            throw KeywardenError(.invalidInput, "--gateway: the gateway listens on loopback only (127.0.0.1 or ::1), not '\(host)': any host that can reach it could spend your keys")
        }
        var settings = GatewaySettings()
        settings.headTimeout = .seconds(try DurationSpec(option: "gateway-timeout", gatewayTimeout, examples: "600s or 2m", range: 1...86_400).seconds)
        settings.retryBudget = .seconds(try DurationSpec(option: "gateway-retry-budget", gatewayRetryBudget, examples: "60s or 0s", range: 0...86_400).seconds)
        if let gatewayScope, !Names.isScope(gatewayScope) {
            throw KeywardenError(.invalidInput, "--gateway-scope: '\(gatewayScope)' is not a scope name")
        }
        settings.defaultScope = gatewayScope
        settings.http1Only = gatewayHttp1
        settings.network = NetworkSettings(environment: environment, caFile: caFile)
        return GatewayListen(host: host, port: port, settings: settings)
    }

    func run(_ context: CLIContext) async throws {
        #if canImport(Glibc)
        // One malloc arena per core, not glibc's default of eight per core:
        // the agent's threads (event loops, the concurrency pool, the vault's
        // and the audit's) run two at a time on a two-core machine anyway, and
        // every extra arena keeps pages of its own (scripts/bench.sh memory:
        // 10,000 cached keys, 39.9 → 38.7 MiB).
        _ = glibcMallopt(glibcArenaMax, Int32(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        #endif
        let inherited = LockedRestart.openDescriptors()
        let environment = context.environment
        let output = context.output
        let path = socket ?? AgentSocket.defaultPath(environment: environment)
        let group = try socketGroup.map { name throws(KeywardenError) in try AgentSocket.group(named: name) }
        let agentSocket = AgentSocket(path: path, group: group)
        if locked { return try await serveLocked(agentSocket, context) }
        // A locked agent serves nothing, so `serve` takes its place (after this
        // process has unlocked, so a wrong passphrase leaves it running); an
        // unlocked one is never taken over.
        var lockedAgent: Int32?
        if AgentSocket.isLive(path) {
            guard let pid = await LockedAgent.lockedPID(at: path) else {
                throw KeywardenError(.conflict, "another agent is already serving at \(path); stop it first, or use --socket")
            }
            lockedAgent = pid
        }
        let gateway = try gatewayListen(environment)
        let outageGrace = try DurationSpec(option: "database-outage-grace", databaseOutageGrace, examples: "30s, 10m or 0", range: 0...Int64.max)
        let recovery = try RecoveryBackoff.option(recoveryMaxBackoff)
        let opened = try Session.open(context, vault, command: "serve", anchorInterval: .milliseconds(250))
        opened.postgres?.outageGrace = .seconds(outageGrace.seconds)
        if let lockedAgent {
            try LockedAgent.stop(lockedAgent, at: path)
            output.error("keywarden: stopped the locked agent (pid \(lockedAgent)) at \(path)")
        }
        try opened.recordAudit(AuditDraft(action: "agent.start", outcome: "ok",
                                          detail: "serving at \(path)\(socketGroup.map { " (group \($0))" } ?? "")\(gateway.map { "; gateway on \($0.host):\($0.port)" } ?? "")"))
        var logger = Logger(label: "keywarden-agent")
        logger.logLevel = environment["KEYWARDEN_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        var interval: Duration?
        if rotationInterval != "off" {
            let spec = try DurationSpec(option: "rotation-interval", rotationInterval, examples: "1m or 5m, or off", range: 1...Int64.max)
            interval = .seconds(spec.seconds)
        }
        // The scheduler's tests and probes go out with the agent's own proxy settings.
        let scheduler = SchedulerSettings(interval: interval, validator: Validator(client: NetworkSettings(environment: environment).client),
                                          recovery: recovery)
        // No copy of the master key or of a served value may outlive the lock:
        // this process image is replaced with a locked agent, once the server
        // has shut down or at most 2 s after the lock, whatever is in flight.
        let restartLocked: @Sendable () -> Never = {
            LockedRestart.restartLocked(socket: agentSocket, environment: environment, inherited: inherited) { failure in
                output.error("keywarden: \(failure); exiting")
            }
        }
        let ending = try await runAgent(vault: opened, socket: agentSocket, logger: logger, scheduler: scheduler, gateway: gateway,
                                        lockDeadline: .seconds(2), onLockDeadline: {
            output.error("keywarden: agent locked; requests still in flight are cut; restarting without the vault (pid \(ProcessIDs.current))")
            restartLocked()
        }, onRunning: {
            // Only now: the socket is bound and the server accepts connections.
            output.error("keywarden: agent serving at \(path) (pid \(ProcessIDs.current)); stop with SIGTERM or Ctrl-C")
            SystemdNotify.send("READY=1\nSTATUS=serving at \(path)\nMAINPID=\(ProcessIDs.current)", environment: environment)
        })
        if ending == .locked {
            output.error("keywarden: agent locked; restarting without the vault (pid \(ProcessIDs.current))")
            restartLocked()
        }
        SystemdNotify.send("STOPPING=1", environment: environment)
        try? opened.recordAudit(AuditDraft(action: "agent.stop", outcome: "ok", detail: "stopped serving at \(path)"))
        opened.flushAnchor()
        output.error("keywarden: agent stopped")
    }

    /// The agent after `lock`: same socket, no vault; every request but
    /// `/v1/health` and `/metrics` is answered "locked" until it is stopped
    /// or replaced by a new `keywarden serve`.
    private func serveLocked(_ socket: AgentSocket, _ context: CLIContext) async throws {
        let environment = context.environment
        let output = context.output
        var logger = Logger(label: "keywarden-agent")
        logger.logLevel = environment["KEYWARDEN_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        _ = try await runAgent(vault: nil, socket: socket, logger: logger, onRunning: {
            output.error("keywarden: locked agent at \(socket.path) (pid \(ProcessIDs.current)); run `keywarden serve` to unlock")
            SystemdNotify.send("READY=1\nSTATUS=locked at \(socket.path); run `keywarden serve` to unlock\nMAINPID=\(ProcessIDs.current)", environment: environment)
        })
        SystemdNotify.send("STOPPING=1", environment: environment)
        output.error("keywarden: agent stopped")
    }
}

enum ProcessIDs {
    static var current: Int32 { getpid() }
}

#if canImport(Glibc)
/// `mallopt(3)` and its `M_ARENA_MAX` (malloc.h, which the Glibc module does not export).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let glibcArenaMax: Int32 = -8
#endif

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
        (`keywarden token create`). SIGTERM or SIGINT stop it cleanly. See the README for the API.

        Examples:
          keywarden serve
          keywarden serve --socket /run/keywarden/agent.sock --socket-group deploy
          curl --unix-socket "$XDG_RUNTIME_DIR/keywarden/agent.sock" \\
            'http://k/v1/keys/anthropic?scope=prod'
        """
    )

    @OptionGroup var vault: VaultOptions
    @Option(help: ArgumentHelp("The Unix socket to listen on.", valueName: "path")) var socket: String?
    @Option(help: ArgumentHelp("Let this group connect too (socket 0660).", valueName: "group")) var socketGroup: String?
    @Option(help: ArgumentHelp("How often the rotation scheduler runs ('off' to disable).", valueName: "duration")) var rotationInterval: String = "5m"
    /// Set only by the agent itself after `lock`: serve "locked" without opening the vault.
    @Flag(help: .hidden) var locked = false

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
        let opened = try Session.open(context, vault, command: "serve", anchorInterval: .milliseconds(250))
        if let lockedAgent {
            try LockedAgent.stop(lockedAgent, at: path)
            output.error("keywarden: stopped the locked agent (pid \(lockedAgent)) at \(path)")
        }
        try opened.recordAudit(AuditDraft(action: "agent.start", outcome: "ok", detail: "serving at \(path)\(socketGroup.map { " (group \($0))" } ?? "")"))
        var logger = Logger(label: "keywarden-agent")
        logger.logLevel = environment["KEYWARDEN_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        var scheduler: (interval: Duration, validator: Validator)?
        if rotationInterval != "off" {
            let spec = try DurationSpec(option: "rotation-interval", rotationInterval, examples: "1m or 5m, or off", range: 1...Int64.max)
            // The scheduler's tests go out with the agent's own proxy settings.
            scheduler = (.seconds(spec.seconds), Validator(client: NetworkSettings(environment: environment).client))
        }
        // No copy of the master key or of a served value may outlive the lock:
        // this process image is replaced with a locked agent, once the server
        // has shut down or at most 2 s after the lock, whatever is in flight.
        let restartLocked: @Sendable () -> Never = {
            LockedRestart.restartLocked(socket: agentSocket, environment: environment, inherited: inherited) { failure in
                output.error("keywarden: \(failure); exiting")
            }
        }
        let ending = try await runAgent(vault: opened, socket: agentSocket, logger: logger, scheduler: scheduler, lockDeadline: .seconds(2), onLockDeadline: {
            output.error("keywarden: agent locked; requests still in flight are cut; restarting without the vault (pid \(ProcessIDs.current))")
            restartLocked()
        }, onRunning: {
            // Only now: the socket is bound and the server accepts connections.
            output.error("keywarden: agent serving at \(path) (pid \(ProcessIDs.current)); stop with SIGTERM or Ctrl-C")
        })
        if ending == .locked {
            output.error("keywarden: agent locked; restarting without the vault (pid \(ProcessIDs.current))")
            restartLocked()
        }
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
        })
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

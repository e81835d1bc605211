import KeywardenCore
import KeywardenLaunch

/// The one place that decides whether a command talks to the agent.
///
/// The agent is used when it is there, trusted and unlocked, unless
/// `KEYWARDEN_NO_AGENT` is set (or the command was given `--keyfile`, which
/// the caller passes as `forceDirect`). An agent that fails a trust check
/// (``AgentTrust``) gets nothing: `warn` receives the reason and the caller
/// opens the vault itself.
public enum AgentConnector {
    public static func connect(environment: [String: String], command: String, forceDirect: Bool = false,
                               warn: (String) -> Void) async -> AgentService? {
        if forceDirect { return nil }
        if let off = environment["KEYWARDEN_NO_AGENT"], !off.isEmpty, off != "0" { return nil }
        guard let agent = await reach(environment: environment, command: command, warn: warn),
              let health = await agent.health(), !health.locked else { return nil }
        return agent
    }

    /// The agent at the configured socket, locked or not, if one is there and trusted.
    public static func reach(environment: [String: String], command: String, warn: (String) -> Void) async -> AgentService? {
        await reach(socket: AgentSocketPath.resolve(environment: environment), command: command, warn: warn)
    }

    /// The agent at `path`, locked or not, if one is there and trusted
    /// (`serve --socket PATH` looking for a locked agent to replace).
    public static func reach(socket path: String, command: String, warn: (String) -> Void) async -> AgentService? {
        switch AgentTrust.checkFiles(socket: path) {
        case nil:
            return nil
        case .failure(let refusal)?:
            warn(untrusted(path, refusal))
            return nil
        case .success?:
            break
        }
        do {
            return AgentService(connection: try AgentConnection.connect(path: path), command: command)
        } catch let refusal as AgentTrust.Refusal {
            warn(untrusted(path, refusal))
            return nil
        } catch {
            return nil
        }
    }

    static func untrusted(_ path: String, _ refusal: AgentTrust.Refusal) -> String {
        "warning: not using the agent at \(path): \(refusal.reason); opening the vault directly"
    }
}

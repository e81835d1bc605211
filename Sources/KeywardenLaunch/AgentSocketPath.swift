#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the agent listens, shared by the agent and its clients:
/// `$KEYWARDEN_SOCKET`, else `$XDG_RUNTIME_DIR/keywarden/agent.sock`, else
/// `$XDG_STATE_HOME/keywarden/run/agent.sock`, else
/// `~/.local/state/keywarden/run/agent.sock`.
///
/// Never a folder in `/tmp`: another user could create that folder first and
/// listen there. The fallback is in the user's own home, where nobody else can
/// create it; the server makes its folder 0700 and the client checks it before
/// trusting it.
public enum AgentSocketPath {
    public static func resolve(environment: [String: String]) -> String {
        if let explicit = environment["KEYWARDEN_SOCKET"], !explicit.isEmpty { return explicit }
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") { return runtime + "/keywarden/agent.sock" }
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/keywarden/run/agent.sock" }
        return homeDirectory(environment: environment) + "/.local/state/keywarden/run/agent.sock"
    }

    /// `$HOME`, else the passwd entry's home (cron and `su` may not set HOME).
    public static func homeDirectory(environment: [String: String]) -> String {
        if let home = environment["HOME"], home.hasPrefix("/") { return home }
        if let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir, dir.pointee != 0 { return String(cString: dir) }
        return "/nonexistent"
    }
}

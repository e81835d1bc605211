#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenCore
import NIOConcurrencyHelpers

/// What `lock` does to the agent's memory. Dropping the vault and wiping the
/// buffers we own is not enough to be sure: served values also passed through
/// NIO's response buffers, request decoders and the malloc heap, which are
/// freed without being zeroed. So after a lock the agent replaces its own
/// process image (`execve` of /proc/self/exe, same pid) with a locked agent
/// that never opened the vault: the kernel discards the whole old address
/// space, and the new process answers on the same socket path, "locked".
public enum LockedRestart {
    /// Variables the locked agent must not inherit: credentials it never needs.
    static let droppedVariables = ["KEYWARDEN_PASSPHRASE", "KEYWARDEN_NEW_PASSPHRASE", "KEYWARDEN_KEYFILE", "KEYWARDEN_TOKEN"]

    /// The descriptors open now. Call it first thing, before the vault is
    /// opened: these were inherited from the parent and stay open across the
    /// restart (a parent may watch one to learn when the agent exits — Foundation's
    /// `Process` does), while everything opened later is closed.
    public static func openDescriptors() -> Set<Int32> {
        InheritedDescriptors.openDescriptors()
    }

    private static let claimed = NIOLockedValueBox(false)

    /// `replaceProcess`, at most once: after a lock both the agent's normal
    /// return and its lock deadline (`runAgent`'s `onLockDeadline`) come here,
    /// and whichever is second waits for the first, which replaces the
    /// process or, if `execve` failed, reports why and exits.
    public static func restartLocked(socket: AgentSocket, environment: [String: String], inherited: Set<Int32>,
                                     report: (String) -> Void) -> Never {
        let first = claimed.withLockedValue { claimed in
            defer { claimed = true }
            return !claimed
        }
        if !first {
            while true { pause() }
        }
        let failure = replaceProcess(socket: socket, environment: environment, inherited: inherited)
        report(failure)
        exit(1)
    }

    /// Replaces this process with `keywarden serve --locked` on `socket`,
    /// keeping only the `inherited` descriptors (see `openDescriptors`).
    /// Returns only if `execve` failed; the caller must then exit.
    public static func replaceProcess(socket: AgentSocket, environment: [String: String], inherited: Set<Int32>) -> String {
        var arguments = ["keywarden", "serve", "--locked", "--socket", socket.path]
        if let group = socket.group { arguments += ["--socket-group", String(group)] }
        let variables = environment.filter { !droppedVariables.contains($0.key) }.map { "\($0.key)=\($0.value)" }
        markDescriptorsCloseOnExec(except: inherited)
        // Signals the old image ignored or blocked would stay so after execve.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        execve("/proc/self/exe", argv, envp)
        return "cannot restart the agent locked: execve: \(String(cString: strerror(errno)))"
    }

    /// Every descriptor this process opened closes on exec: the old listening
    /// socket, client connections and the vault's files must not reach the
    /// locked agent.
    private static func markDescriptorsCloseOnExec(except inherited: Set<Int32>) {
        for fd in openDescriptors() where fd > 2 && !inherited.contains(fd) {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}

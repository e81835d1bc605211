#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPeerCredentials

/// Keeps the CLI's memory (a passphrase, the master key, values on their way
/// to a file or a child) away from other processes of the same user and out
/// of core files, without changing what `run`'s command inherits.
public enum CoreDumps {
    /// The soft core limit the CLI was started with, for `run`'s child.
    nonisolated(unsafe) private static var inheritedSoftLimit: rlim_t?

    /// At start: not dumpable (no ptrace or /proc/PID/mem by same-uid
    /// processes, no core), and the soft core limit 0. The hard limit is left
    /// alone so the limit can be given back to `run`'s command.
    public static func disable() {
        _ = kw_disable_dumping()
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0 else { return }
        inheritedSoftLimit = limit.rlim_cur
        limit.rlim_cur = 0
        setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
    }

    /// The soft core limit back to 0, after `run --mask` has spawned its
    /// command (which keeps what ``restoreForChild()`` gave it).
    public static func disableAfterSpawn() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = 0
        setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
    }

    /// Before `run --mask` dies of its command's signal (SIGSEGV, SIGQUIT…):
    /// soft and hard core limit 0, so that no core of keywarden, whose
    /// environment holds the values, is written whatever the dumpable flag
    /// and the system's core settings. Async-signal-safe.
    public static func forbidBeforeDying() {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(Int32(RLIMIT_CORE.rawValue), &none)
    }

    /// Just before `run` execs its command: the soft core limit it would have
    /// had without Keywarden. (exec itself makes the new program dumpable
    /// again: the kernel resets the flag for a binary that is not set-id.)
    public static func restoreForChild() {
        guard let soft = inheritedSoftLimit else { return }
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = soft
        setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starting `run`'s command, shared by the launcher and the full command
/// line so that both start it the same way.
public enum CommandStart {
    /// Why the command could not be started, with the exit code the shell
    /// would use: 127 not found, 126 not executable.
    public struct Failure: Error {
        public var code: Int32
        public var message: String
    }

    /// The file `name` runs: itself when it contains a `/`, else the first
    /// executable regular file of that name in `path` (as execvp searches;
    /// an empty entry is the current folder). Exit 127 when there is none,
    /// 126 when only non-executable ones exist.
    public static func resolve(_ name: String, path: String?) throws(Failure) -> String {
        if name.contains("/") { return name }
        guard !name.isEmpty else { throw Failure(code: 127, message: "cannot run an empty command name") }
        var denied = false
        for entry in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (entry.isEmpty ? "." : String(entry)) + "/" + name
            var info = stat()
            guard stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if access(candidate, X_OK) == 0 { return candidate }
            denied = true
        }
        if denied { throw Failure(code: 126, message: "cannot run \(name): Permission denied") }
        throw Failure(code: 127, message: "cannot run \(name): command not found in PATH")
    }

    /// Only the program's name is recorded: its arguments are the user's and may hold anything.
    public static func programName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// The variables that carry Keywarden's own credentials: the command gets
    /// only what the scope gives it.
    public static func removeOwnCredentials() {
        for name in KeywardenCredentialsEnvironment.names { unsetenv(name) }
    }

    /// `--clean`: an empty environment but for PATH and HOME.
    public static func clearEnvironmentKeepingPathAndHome() {
        let keep: [(String, String)] = ["PATH", "HOME"].compactMap { name in getenv(name).map { (name, String(cString: $0)) } }
        clearenv()
        for (name, value) in keep { setenv(name, value, 1) }
    }

    /// Sets `name` to the bytes of `value` (a NUL-terminated copy, wiped after).
    public static func setVariable(_ name: String, bytes value: UnsafeRawBufferPointer) {
        let terminated = UnsafeMutablePointer<CChar>.allocate(capacity: value.count + 1)
        defer {
            memset(terminated, 0, value.count + 1)
            terminated.deallocate()
        }
        if let base = value.baseAddress { memcpy(terminated, base, value.count) }
        terminated[value.count] = 0
        setenv(name, terminated, 1)
    }

    /// A program expects default signal dispositions and an empty signal mask;
    /// ignored signals and the mask survive exec, so an inherited blocked
    /// SIGTERM or ignored SIGPIPE would change how the command dies.
    public static func restoreDefaultSignals() {
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        for sig in 1..<32 where sig != SIGKILL && sig != SIGSTOP {
            signal(Int32(sig), SIG_DFL)
        }
    }

    /// Replaces this process with `executable`: default signals, the core
    /// limit the caller had, everything flushed. A script without a `#!`
    /// line runs with sh, as execvp does. Returns only when nothing could be
    /// started, with why.
    public static func exec(_ executable: String, arguments: [String]) -> Failure {
        restoreDefaultSignals()
        CoreDumps.restoreForChild()
        fflush(nil)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv(executable, &argv)
        if errno == ENOEXEC {
            var shArgv: [UnsafeMutablePointer<CChar>?] = [strdup("sh"), strdup(executable)] + arguments.dropFirst().map { strdup($0) } + [nil]
            execv("/bin/sh", &shArgv)
        }
        let code: Int32 = errno == ENOENT ? 127 : 126
        return Failure(code: code, message: "cannot run \(arguments.first ?? executable): \(String(cString: strerror(errno)))")
    }
}

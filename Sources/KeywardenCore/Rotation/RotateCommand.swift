#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KeywardenCrypto

/// Runs a policy's commands with `/bin/sh -c`, in their own process group so
/// a timeout kills everything they started. Keys travel only on stdout (a new
/// key) or stdin (a key to revoke), never in argv or the environment; stdout
/// is never logged, stderr is kept (shortened) for the audit trail.
public enum RotateCommand {
    struct Outcome {
        var status: Int32
        var stdout: [UInt8]
        var stderr: String
        var timedOut: Bool
    }

    /// Runs the rotate command and returns the new key it printed.
    static func run(_ command: String, provider: String, scope: String, oldKeyID: String, timeout: Int64, vault: Vault) async throws(KeywardenError) -> (key: SecureBytes, stderr: String) {
        var result = try await spawn(command, environment: ["KEYWARDEN_PROVIDER": provider, "KEYWARDEN_SCOPE": scope, "KEYWARDEN_OLD_KEY_ID": oldKeyID],
                                     stdin: [], timeout: timeout)
        defer { wipe(&result.stdout) }
        if result.timedOut {
            throw KeywardenError(.failed, "the rotate command did not finish within \(DurationSpec(seconds: timeout)) and was killed\(stderrNote(result))")
        }
        guard result.status == 0 else {
            throw KeywardenError(.failed, "the rotate command exited with status \(result.status)\(stderrNote(result))")
        }
        if result.stdout.last == 0x0A { result.stdout.removeLast() }
        if result.stdout.last == 0x0D { result.stdout.removeLast() }
        let value = SecureBytes(copying: result.stdout)
        do {
            try Vault.checkKeyValue(value)
        } catch {
            throw KeywardenError(.failed, "the rotate command's output is not a usable key: \(error.message)")
        }
        // Its stderr goes to the audit trail; a key echoed there is removed.
        let keyText = value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        let stderr = String(result.stderr.replacingOccurrences(of: keyText, with: "[key]").trimmingCharacters(in: .whitespacesAndNewlines).prefix(300))
        return (value, stderr)
    }

    /// Gives a revoked key to the revoke command on stdin.
    static func revoke(_ command: String, provider: String, scope: String, keyID: String, value: SecureBytes, timeout: Int64, vault: Vault) async throws(KeywardenError) {
        var input = value.copyBytes() + [0x0A]
        defer { wipe(&input) }
        var result = try await spawn(command, environment: ["KEYWARDEN_PROVIDER": provider, "KEYWARDEN_SCOPE": scope, "KEYWARDEN_KEY_ID": keyID],
                                     stdin: input, timeout: timeout)
        wipe(&result.stdout)
        if result.timedOut { throw KeywardenError(.failed, "the revoke command timed out\(stderrNote(result))") }
        guard result.status == 0 else { throw KeywardenError(.failed, "the revoke command exited with status \(result.status)\(stderrNote(result))") }
    }

    static func stderrNote(_ result: Outcome) -> String {
        let text = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "" : " (stderr: \(text.prefix(200)))"
    }

    static func spawn(_ command: String, environment extra: [String: String], stdin input: [UInt8], timeout: Int64) async throws(KeywardenError) -> Outcome {
        do {
            return try await Task.detached { try spawnBlocking(command, environment: extra, stdin: input, timeout: timeout) }.value
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw KeywardenError(.failed, "cannot run the command: \(error)")
        }
    }

    private static func spawnBlocking(_ command: String, environment extra: [String: String], stdin input: [UInt8], timeout: Int64) throws -> Outcome {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw KeywardenError(.failed, "cannot create pipes") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in inPipe + outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var environment = ProcessInfo.processInfo.environment
        // The child must not inherit the vault's credentials.
        for name in ["KEYWARDEN_PASSPHRASE", "KEYWARDEN_NEW_PASSPHRASE"] { environment[name] = nil }
        for (name, value) in extra { environment[name] = value }
        let argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", command].map { (text: String) in strdup(text) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { (entry: (key: String, value: String)) in strdup("\(entry.key)=\(entry.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw KeywardenError(.failed, "cannot start /bin/sh: \(String(cString: strerror(rc)))")
        }
        // Feed stdin (small) and close it so the command sees EOF.
        signal(SIGPIPE, SIG_IGN)
        _ = input.withUnsafeBytes { write(inPipe[1], $0.baseAddress, $0.count) }
        close(inPipe[1])
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        var out: [UInt8] = [], err: [UInt8] = []
        var open = [outPipe[0], errPipe[0]]
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        defer { wipe(&buffer) }
        while !open.isEmpty {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 {
                timedOut = true
                kill(-pid, SIGKILL)
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(remaining, 1) * 1000))
            if ready <= 0 { continue }
            for entry in fds where entry.revents != 0 {
                let n = read(entry.fd, &buffer, buffer.count)
                if n <= 0 {
                    close(entry.fd)
                    open.removeAll { $0 == entry.fd }
                } else if entry.fd == outPipe[0] {
                    if out.count < 64 * 1024 { out += buffer[0..<n] }
                } else if err.count < 16 * 1024 {
                    err += buffer[0..<n]
                }
            }
        }
        for fd in open { close(fd) }
        var status: Int32 = 0
        if timedOut { kill(-pid, SIGKILL) }
        waitpid(pid, &status, 0)
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exit, stdout: out, stderr: String(decoding: err, as: UTF8.self), timedOut: timedOut)
    }
}

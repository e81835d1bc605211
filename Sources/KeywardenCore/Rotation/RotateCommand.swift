#if canImport(Glibc)
import CPeerCredentials
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KeywardenCrypto

/// Runs a policy's commands with `/bin/sh -c`, in their own process group so
/// a timeout kills everything they started. Keys travel only on stdout (a new
/// key) or stdin (a key to revoke), never in argv or the environment; stdout
/// is never logged. Stderr is kept (shortened) for the error text and the
/// audit trail, after every value involved — the old key and the new one — is
/// redacted from it (`SecretRedactor`).
public enum RotateCommand {
    struct Outcome {
        var status: Int32
        var stdout: [UInt8]
        var stderr: [UInt8]
        var timedOut: Bool
        /// Killed, but still not reaped when the bounded wait gave up.
        var leftBehind: pid_t?
    }

    /// Runs the rotate command and returns the new key it printed. The output
    /// must be a usable key in the provider's format; a mismatch is reported
    /// without the value and nothing is returned. `redacting` holds the other
    /// values involved (the old key), removed from stderr with the output.
    static func run(_ command: String, provider: ProviderDefinition, scope: String, oldKeyID: String, timeout: Int64,
                    redacting: [SecureBytes]) async throws(KeywardenError) -> (key: SecureBytes, stderr: String) {
        var result = try await spawn(command, environment: ["KEYWARDEN_PROVIDER": provider.name, "KEYWARDEN_SCOPE": scope, "KEYWARDEN_OLD_KEY_ID": oldKeyID],
                                     stdin: [], timeout: timeout)
        defer { wipe(&result.stdout) }
        var output = result.stdout
        defer { wipe(&output) }
        while let last = output.last, last == 0x0A || last == 0x0D { output.removeLast() }
        let value = SecureBytes(copying: output)
        // Whatever it printed is redacted, key or not: `oops-not-a-key` may
        // still be half a real one.
        var redactor = SecretRedactor(redacting + [value, SecureBytes(copying: result.stdout)])
        defer { redactor.erase() }
        let stderr = text(result.stderr, redactor, limit: 300)
        if result.timedOut {
            throw KeywardenError(.failed, "the rotate command did not finish within \(DurationSpec(seconds: timeout)) and was killed\(leftBehindNote(result))\(note(stderr))")
        }
        guard result.status == 0 else {
            throw KeywardenError(.failed, "the rotate command exited with status \(result.status)\(note(stderr))")
        }
        do {
            try Vault.checkKeyValue(value)
        } catch {
            throw KeywardenError(.failed, "the rotate command's output is not a usable key: \(error.message)")
        }
        if let format = provider.keyFormat, !Vault.matches(value, format) {
            throw KeywardenError(.failed, "the rotate command's output (\(value.count) bytes) does not look like a key for \(provider.displayName) (expected \(format.description)); nothing was stored. Check what the command prints on stdout")
        }
        return (value, stderr)
    }

    /// Gives a revoked key to the revoke command on stdin. `redacting` holds
    /// the other values involved (the pool's active key).
    static func revoke(_ command: String, provider: String, scope: String, keyID: String, value: SecureBytes, timeout: Int64,
                       redacting: [SecureBytes]) async throws(KeywardenError) {
        var input = value.copyBytes() + [0x0A]
        defer { wipe(&input) }
        var result = try await spawn(command, environment: ["KEYWARDEN_PROVIDER": provider, "KEYWARDEN_SCOPE": scope, "KEYWARDEN_KEY_ID": keyID],
                                     stdin: input, timeout: timeout)
        var redactor = SecretRedactor([value] + redacting + [SecureBytes(copying: result.stdout)])
        defer { redactor.erase() }
        wipe(&result.stdout)
        let stderr = text(result.stderr, redactor, limit: 200)
        if result.timedOut {
            throw KeywardenError(.failed, "the revoke command did not finish within \(DurationSpec(seconds: timeout)) and was killed\(leftBehindNote(result))\(note(stderr))")
        }
        guard result.status == 0 else { throw KeywardenError(.failed, "the revoke command exited with status \(result.status)\(note(stderr))") }
    }

    /// Redacted, then shortened: never the other way round, or a cut could
    /// leave part of a key.
    static func text(_ stderr: [UInt8], _ redactor: SecretRedactor, limit: Int) -> String {
        let redacted = String(decoding: redactor.redact(stderr), as: UTF8.self)
        return String(redacted.trimmingCharacters(in: .whitespacesAndNewlines).prefix(limit))
    }

    static func note(_ stderr: String) -> String {
        stderr.isEmpty ? "" : " (stderr: \(stderr))"
    }

    static func leftBehindNote(_ result: Outcome) -> String {
        result.leftBehind.map { "; it did not exit after SIGKILL either and was left behind as pid \($0)" } ?? ""
    }

    static func spawn(_ command: String, environment extra: [String: String], stdin input: [UInt8], timeout: Int64) async throws(KeywardenError) -> Outcome {
        do {
            // A thread of its own: the wait lasts up to the command's time
            // limit (a minute by default), and a rotation may run inside the
            // agent, whose Swift concurrency pool serves every other client.
            return try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(with: Result { try spawnBlocking(command, environment: extra, stdin: input, timeout: timeout) })
                }
            }
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw KeywardenError(.failed, "cannot run the command: \(error)")
        }
    }

    /// How long a killed command gets to be reaped.
    static let reapGrace: TimeInterval = 5

    private static func spawnBlocking(_ command: String, environment extra: [String: String], stdin input: [UInt8], timeout: Int64) throws -> Outcome {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        // Close-on-exec pipes, and the child closes every descriptor from 3 up: a
        // command run at the same time (the agent's scheduler, a hook that starts
        // a daemon) must not inherit another's pipe, or its reader never sees EOF.
        guard kw_pipe_cloexec(&inPipe) == 0, kw_pipe_cloexec(&outPipe) == 0, kw_pipe_cloexec(&errPipe) == 0 else { throw KeywardenError(.failed, "cannot create pipes") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        // glibc before 2.34 has no closefrom action (ENOSYS): the command still
        // runs there, and still gets none of these pipes (close-on-exec) nor any
        // other descriptor opened close-on-exec, which is all of Keywarden's own.
        let closing = kw_posix_spawn_close_from(&actions, 3)
        guard closing == 0 || closing == ENOSYS else {
            for fd in inPipe + outPipe + errPipe { close(fd) }
            throw KeywardenError(.failed, "cannot start /bin/sh: posix_spawn cannot close descriptors (\(String(cString: strerror(closing))))")
        }
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
        for name in KeywardenCredentialsEnvironment.names { environment[name] = nil }
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
        // The pipes can close long before the command exits (it closed them,
        // or a child holds none of them), so the wait has the same deadline:
        // WNOHANG polling, then SIGKILL to the group, then a short grace for
        // the kernel to deliver it. Past that it is reported, not waited for.
        var status: Int32 = 0
        var killedAt: Date?
        if timedOut {
            kill(-pid, SIGKILL)
            killedAt = Date()
        }
        var reaped = false
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { reaped = true; break }
            if rc < 0 && errno != EINTR { break }
            if let killedAt {
                if Date().timeIntervalSince(killedAt) > Self.reapGrace { break }
            } else if Date() >= deadline {
                timedOut = true
                kill(-pid, SIGKILL)
                killedAt = Date()
            }
            usleep(10_000)
        }
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: reaped ? exit : 137, stdout: out, stderr: err, timedOut: timedOut, leftBehind: reaped ? nil : pid)
    }
}

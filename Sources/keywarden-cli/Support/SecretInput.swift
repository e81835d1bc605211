#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenCore

/// Reads secrets from standard input or the terminal — never from argv, where
/// every user on the machine could read them in `ps`.
///
/// Commands read through their context's `SecretInput` (``CLIContext/input``),
/// whose sources a test may replace; the static forms use the process's own.
struct SecretInput: Sendable {
    /// Whether standard input is a terminal (then a value is prompted for).
    var stdinIsTerminal: @Sendable () -> Bool = { SecretInput.stdinIsTerminal }
    /// All of standard input, one trailing newline removed when asked.
    var readStandardInput: @Sendable (_ stripOneNewline: Bool) throws(KeywardenError) -> Secret = { try SecretInput.readAllStandardInput(stripOneNewline: $0) }
    /// A no-echo prompt on the terminal; nil without one or on an empty answer.
    var promptHidden: @Sendable (_ prompt: String) -> Secret? = { SecretInput.readHidden(prompt: $0) }

    /// A value: all of stdin when it is a pipe or file, or a no-echo prompt.
    func readValue(prompt: String) throws(KeywardenError) -> Secret {
        if stdinIsTerminal() {
            guard let value = promptHidden(prompt) else { throw KeywardenError(.invalidInput, "no value entered; nothing was stored") }
            return value
        }
        return try readStandardInput(true)
    }

    /// A new passphrase, from `envVar` when set, else asked twice.
    func newPassphrase(envVar: String, environment: [String: String]) throws(KeywardenError) -> Secret {
        try Self.newPassphrase(envVar: envVar, environment: environment, prompt: promptHidden)
    }

    /// Whether standard input is a terminal.
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
    /// Reads all of stdin into guarded memory.
    static func readAllStandardInput(stripOneNewline: Bool) throws(KeywardenError) -> Secret {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        defer { Secrets.wipe(&chunk) }
        while true {
            let n = read(STDIN_FILENO, &chunk, chunk.count)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                Secrets.wipe(&buffer)
                throw KeywardenError(.failed, "cannot read standard input: \(String(cString: strerror(errno)))")
            }
            buffer.append(contentsOf: chunk[0..<n])
            if buffer.count > 1 << 20 {
                Secrets.wipe(&buffer)
                throw KeywardenError(.invalidInput, "standard input is larger than 1 MiB; nothing was stored")
            }
        }
        if stripOneNewline, buffer.last == 0x0A {
            buffer.removeLast()
            if buffer.last == 0x0D { buffer.removeLast() }
        }
        let value = Secrets.secret(copying: buffer)
        Secrets.wipe(&buffer)
        return value
    }

    /// Prompts on the controlling terminal with echo off. Returns nil without a
    /// terminal or on an empty answer.
    static func readHidden(prompt: String) -> Secret? {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var original = termios()
        guard tcgetattr(fd, &original) == 0 else { return nil }
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        silent.c_lflag |= tcflag_t(ICANON)
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        tcsetattr(fd, TCSAFLUSH, &silent)
        defer {
            tcsetattr(fd, TCSAFLUSH, &original)
            _ = write(fd, "\n", 1)
        }
        var line = [UInt8]()
        defer { Secrets.wipe(&line) }
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != 0x0A {
            line.append(byte)
            if line.count > 65536 { break }
        }
        if line.last == 0x0D { line.removeLast() }
        return line.isEmpty ? nil : Secrets.secret(copying: line)
    }

    /// Asks twice for a new passphrase (from `envVar` when set, for scripts).
    static func newPassphrase(envVar: String, environment: [String: String],
                              prompt: (String) -> Secret? = { readHidden(prompt: $0) }) throws(KeywardenError) -> Secret {
        if let fromEnv = environment[envVar] {
            guard !fromEnv.isEmpty else { throw KeywardenError(.invalidInput, "\(envVar) is set but empty") }
            return Secrets.secret(copying: Array(fromEnv.utf8))
        }
        guard let first = prompt("New passphrase: ") else {
            throw KeywardenError(.invalidInput, "no passphrase: set \(envVar) or run in a terminal")
        }
        guard let second = prompt("Repeat passphrase: "), first.constantTimeEquals(second) else {
            throw KeywardenError(.invalidInput, "the passphrases do not match; nothing was changed")
        }
        return first
    }
}

import Foundation
import KeywardenTestSupport
import Testing

/// How a test's commands reach the vault. The CLI suites run in both modes:
/// every command must behave the same whether it opens the vault itself or
/// asks a running agent.
enum CLIMode: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// Each command unlocks the vault itself, with the keyfile.
    case direct
    /// `initVault()` starts an agent, then the keyfile leaves the
    /// environment: every later command works through the agent with no
    /// keyfile and no passphrase (one that tried to unlock would fail).
    case agent

    var testDescription: String { rawValue }
}

/// A temporary home for one end-to-end test: its own vault folder and
/// keyfile, a clean environment, and a record of everything the binary
/// printed so the test can check that no secret ever appeared.
final class CLIHarness: @unchecked Sendable {
    let directory = TemporaryDirectory(prefix: "keywarden-e2e")
    let mode: CLIMode
    /// The agent of `.agent` mode, stopped with the harness.
    private(set) var agent: RunningAgent?
    var environment: [String: String]
    private(set) var transcript: [UInt8] = []
    /// Values a test stored; none may appear in outputs, the audit or the file.
    var secrets: [String] = []

    var home: String { directory.file("home") }
    var keyfile: String { directory.file("vault.key") }
    var databasePath: String { home + "/vault.db" }

    init(_ mode: CLIMode = .direct) {
        self.mode = mode
        environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": directory.path,
            "KEYWARDEN_HOME": directory.file("home"),
            "KEYWARDEN_KEYFILE": directory.file("vault.key"),
            // Never talk to an agent the developer may be running.
            "KEYWARDEN_SOCKET": directory.file("agent.sock"),
            "LANG": "C.UTF-8",
        ]
    }

    /// Runs `keywarden ARGS` with `stdin`, recording its output.
    @discardableResult
    func run(_ arguments: [String], stdin: String = "", env: [String: String?] = [:]) throws -> CommandResult {
        var environment = self.environment
        for (name, value) in env { environment[name] = value }
        let result = try CommandRunner.run(CommandRunner.keywardenBinary, arguments, environment: environment, stdin: Array(stdin.utf8))
        transcript += result.stdout + result.stderr
        return result
    }

    /// Runs and expects success.
    @discardableResult
    func ok(_ arguments: [String], stdin: String = "", env: [String: String?] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let result = try run(arguments, stdin: stdin, env: env)
        #expect(result.status == 0, "keywarden \(arguments.joined(separator: " ")) exited \(result.status): \(result.err)", sourceLocation: sourceLocation)
        return result
    }

    /// Creates a vault unlocked by the keyfile; in `.agent` mode, starts the
    /// agent and takes the keyfile out of the environment.
    func initVault() throws {
        try ok(["init", "--keyfile", keyfile])
        if mode == .agent { try startAgent() }
    }

    /// Starts `keywarden serve` (unlocked with the keyfile), then removes the
    /// keyfile from the environment of every later command.
    func startAgent(extra: [String] = []) throws {
        agent = try RunningAgent(self, extra: extra)
        environment["KEYWARDEN_KEYFILE"] = nil
    }

    /// The environment with the keyfile, for what must open the vault itself
    /// (tampering checks that bypass the agent).
    var directEnvironment: [String: String] {
        var direct = environment
        direct["KEYWARDEN_KEYFILE"] = keyfile
        direct["KEYWARDEN_NO_AGENT"] = "1"
        return direct
    }

    deinit {
        agent?.stop()
    }

    /// The pid of the running agent (0 without one), to kill it as a crash would.
    var agentProcessID: Int32 { agent?.process.processIdentifier ?? 0 }

    /// Adds a key from stdin and returns its id.
    func addKey(_ provider: String, scope: String, value: String, extra: [String] = []) throws -> String {
        secrets.append(value)
        try ok(["key", "add", provider, "--scope", scope] + extra, stdin: value + "\n")
        let list = try ok(["key", "list", "--scope", scope, "--provider", provider, "--json"])
        let keys = try JSONSerialization.jsonObject(with: Data(list.stdout)) as! [[String: Any]]
        return keys.filter { $0["inherited_by"] == nil }.last!["id"] as! String
    }

    /// Runs the `sqlite3` shell on the vault, as a user with the file would.
    func sqlite(_ sql: String) throws -> CommandResult {
        let result = try CommandRunner.run("/usr/bin/sqlite3", [databasePath, sql], environment: environment)
        #expect(result.status == 0, "sqlite3 failed: \(result.err)")
        return result
    }

    /// Checks that no stored secret appears in anything the binary printed,
    /// in the vault's files, or in the audit trail as JSON.
    func expectNoSecretLeaked(sourceLocation: SourceLocation = #_sourceLocation) throws {
        var haystacks: [(String, [UInt8])] = [("output", transcript)]
        for suffix in ["", "-wal", "-shm"] {
            if let data = FileManager.default.contents(atPath: databasePath + suffix) { haystacks.append(("vault.db\(suffix)", Array(data))) }
        }
        if FileManager.default.fileExists(atPath: databasePath) {
            let audit = try CommandRunner.run(CommandRunner.keywardenBinary, ["audit", "--json"], environment: environment)
            haystacks.append(("audit", audit.stdout))
        }
        for value in secrets {
            for (name, bytes) in haystacks {
                #expect(!bytes.contains(bytes: Array(value.utf8)), "a stored value appeared in \(name)", sourceLocation: sourceLocation)
            }
        }
    }

    func json(_ result: CommandResult) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(result.stdout))
    }
}

/// Made-up keys in each provider's format (no provider accepts them).
enum FakeKeys {
    static func anthropic(_ seed: Character = "a") -> String { "sk-ant-api03-" + String(repeating: seed, count: 93) + "AA" }
    static func openai(_ seed: Character = "o") -> String { "sk-proj-" + String(repeating: seed, count: 40) + "T3BlbkFJ" + String(repeating: seed, count: 40) }
    static func gemini(_ seed: Character = "g") -> String { "AIza" + String(repeating: seed, count: 35) }
    static func groq(_ seed: Character = "q") -> String { "gsk_" + String(repeating: seed, count: 52) }
}

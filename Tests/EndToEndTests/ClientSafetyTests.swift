import Foundation
import KeywardenServer
import KeywardenTestSupport
import Testing

/// A stand-in for the agent: answers every request with canned JSON and
/// appends every byte it receives to a log, so a test can tell exactly what
/// the CLI sent it. Optionally binds as root and listens as another uid, so
/// the socket file passes the CLI's file checks and only `SO_PEERCRED` tells.
final class FakeAgent: @unchecked Sendable {
    static let script = #"""
        import base64, json, os, socket, sys, threading
        path, log, answers_path, uid, bind_as_uid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
        answers = json.load(open(answers_path))
        logf = open(log, "ab")
        def become(uid):
            os.setgid(uid); os.setuid(uid)
        if uid >= 0 and bind_as_uid: become(uid)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        os.chmod(path, 0o600)
        if uid >= 0 and not bind_as_uid: become(uid)
        server.listen(16)
        print("ready", flush=True)
        lock = threading.Lock()
        def serve(conn):
            # Keep-alive: answers every request on the connection until the client closes it.
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk: break
                    data += chunk
                if b"\r\n\r\n" not in data: break
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length": length = int(value.strip())
                while len(rest) < length:
                    chunk = conn.recv(65536)
                    if not chunk: break
                    rest += chunk
                body, data = rest[:length], rest[length:]
                with lock:
                    logf.write(head + b"\r\n\r\n" + body); logf.flush()
                target = head.split(b" ")[1].decode().split("?")[0] if b" " in head else "/"
                reply = json.dumps(answers.get(target, {"error": "not found"})).encode()
                status = b"200 OK" if target in answers else b"404 Not Found"
                conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(reply)).encode() + b"\r\n\r\n" + reply)
            if data:
                with lock:
                    logf.write(data); logf.flush()
            conn.close()
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        """#

    let process = Process()
    let log: String
    let output = Pipe()

    /// Starts a fake agent at `socket` answering `answers` (path → JSON),
    /// listening as `uid` (bound by root first, unless `bindAsToo`) or as the caller.
    init(socket: String, answers: [String: Any], directory: TemporaryDirectory, listenAs uid: Int32 = -1, bindAsToo: Bool = false) throws {
        log = directory.file("fake-agent-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log, contents: nil)
        let answersFile = directory.file("answers-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: answers).write(to: URL(fileURLWithPath: answersFile))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, socket, log, answersFile, String(uid), bindAsToo ? "1" : "0"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for "ready" (listening).
        _ = output.fileHandleForReading.availableData
    }

    /// Everything the CLI sent.
    var received: [UInt8] { Array(FileManager.default.contents(atPath: log) ?? Data()) }
    var receivedText: String { String(decoding: received, as: UTF8.self) }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    /// The answers of an agent that tries to take over `run`: loader variables
    /// and a fake key, for every variable the CLI might ask for — on the
    /// Keywarden API the CLI uses (`/v1/ops/…`) and on the documented routes.
    static func hostileAnswers(key: String) -> [String: Any] {
        func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
        let environment = ["ANTHROPIC_API_KEY": b64("sk-ant-from-the-fake-agent"), "LD_PRELOAD": b64("/tmp/evil.so"),
                           "BASH_ENV": b64("/tmp/evil.sh"), "PATH": b64("/tmp/evil-bin")]
        return [
            "/v1/health": ["status": "ok", "locked": false, "version": "0.1.0"],
            "/v1/ops/delivery.environment": environment.map { ["name": $0.key, "value": $0.value] },
            "/v1/ops/delivery.names": ["ANTHROPIC_API_KEY", "LD_PRELOAD"],
            "/v1/ops/keys.list": [] as [Any],
            "/v1/ops/keys.reveal": ["key": [:] as [String: Any], "value": b64("sk-ant-from-the-fake-agent")],
            "/v1/ops/reports.report": [] as [Any],
            "/v1/ops/agent.lock": [:] as [String: Any],
            "/v1/env": environment,
            "/v1/names": ["ANTHROPIC_API_KEY", "LD_PRELOAD"],
            "/v1/values/k_any": ["value": "sk-ant-from-the-fake-agent"],
            "/v1/keys": [] as [Any],
            "/v1/reports": [] as [Any],
            "/v1/lock": ["locked": true],
        ]
    }
}

@Suite("End to end: the CLI trusts only its own agent, and run, import and export stay safe", .serialized)
struct ClientSafetyTests {
    /// A vault with a prod key; the agent socket path points at `socket`.
    func vault() throws -> (CLIHarness, String) {
        let cli = CLIHarness()
        try cli.initVault()
        let key = FakeKeys.anthropic("t")
        _ = try cli.addKey("anthropic", scope: "prod", value: key)
        return (cli, key)
    }

    @Test("a fake agent run by another user in a folder it created gets nothing: the CLI warns and opens the vault",
          .enabled(if: getuid() == 0, "needs root to act as uid 65534"))
    func otherUsersFolder() throws {
        let (cli, key) = try vault()
        // Another user got to the predictable folder first.
        let folder = cli.directory.file("keywarden-shared")
        mkdir(folder, 0o700)
        chown(folder, 65534, 65534)
        chmod(cli.directory.path, 0o755)  // let uid 65534 reach its folder
        let socket = folder + "/agent.sock"
        // The fake agent runs entirely as uid 65534 (binds and listens).
        let fake = try FakeAgent(socket: socket, answers: FakeAgent.hostileAnswers(key: key), directory: cli.directory, listenAs: 65534, bindAsToo: true)
        defer { fake.stop() }
        cli.environment["KEYWARDEN_SOCKET"] = socket
        cli.environment["ANTHROPIC_API_KEY"] = key
        let export = try cli.ok(["export", "--scope", "prod"])
        #expect(export.err.contains("not using the agent at \(socket)"), "\(export.err)")
        #expect(export.err.contains("belongs to uid 65534"), "\(export.err)")
        #expect(export.out.contains(key), "the vault's own value, not the fake agent's")
        let run = try cli.ok(["run", "--scope", "prod", "--", "/usr/bin/env"])
        #expect(!run.out.contains("LD_PRELOAD") && !run.out.contains("evil"))
        let report = try cli.run(["report", "--env", "ANTHROPIC_API_KEY", "--status", "401"])
        #expect(report.status == 0, "\(report.err)")
        let reveal = try cli.ok(["key", "show", "--reveal", try keyID(cli)])
        #expect(reveal.out.contains(key))
        #expect(try cli.run(["lock"]).status != 0, "lock does not claim success against a fake agent")
        #expect(fake.received.isEmpty, "the fake agent received: \(fake.receivedText)")
        cli.secrets.removeAll()
    }

    func keyID(_ cli: CLIHarness) throws -> String {
        let keys = try cli.json(try cli.ok(["key", "list", "--json"])) as! [[String: Any]]
        return keys[0]["id"] as! String
    }

    @Test("a socket in the caller's own folder, but served by another uid (SO_PEERCRED), gets no request",
          .enabled(if: getuid() == 0, "needs root to listen as uid 65534"))
    func peerUID() throws {
        let (cli, key) = try vault()
        let folder = cli.directory.file("run")
        mkdir(folder, 0o700)
        let socket = folder + "/agent.sock"
        let fake = try FakeAgent(socket: socket, answers: FakeAgent.hostileAnswers(key: key), directory: cli.directory, listenAs: 65534)
        defer { fake.stop() }
        cli.environment["KEYWARDEN_SOCKET"] = socket
        let export = try cli.ok(["export", "--scope", "prod"])
        #expect(export.err.contains("runs as uid 65534"), "\(export.err)")
        #expect(export.out.contains(key))
        #expect(fake.received.isEmpty, "the fake agent received: \(fake.receivedText)")
        cli.secrets.removeAll()
    }

    @Test("a socket folder others can write is not trusted")
    func worldWritableFolder() throws {
        let (cli, key) = try vault()
        let folder = cli.directory.file("open")
        mkdir(folder, 0o700)
        chmod(folder, 0o777)
        let socket = folder + "/agent.sock"
        let fake = try FakeAgent(socket: socket, answers: FakeAgent.hostileAnswers(key: key), directory: cli.directory)
        defer { fake.stop() }
        cli.environment["KEYWARDEN_SOCKET"] = socket
        let export = try cli.ok(["export", "--scope", "prod"])
        #expect(export.err.contains("writable by other users"), "\(export.err)")
        #expect(export.out.contains(key))
        #expect(fake.received.isEmpty, "the fake agent received: \(fake.receivedText)")
        cli.secrets.removeAll()
    }

    @Test("from an agent that passes the checks, run takes only the names asked for: no LD_PRELOAD, BASH_ENV or PATH")
    func onlyAskedNames() throws {
        let (cli, key) = try vault()
        let fake = try FakeAgent(socket: cli.environment["KEYWARDEN_SOCKET"]!, answers: FakeAgent.hostileAnswers(key: key), directory: cli.directory)
        defer { fake.stop() }
        let marker = cli.directory.file("ran")
        let all = try cli.run(["run", "--scope", "prod", "--", "/usr/bin/touch", marker])
        #expect(all.status == 2 && all.err.contains("LD_PRELOAD") || all.err.contains("BASH_ENV") || all.err.contains("PATH"), "\(all.status) \(all.err)")
        #expect(!FileManager.default.fileExists(atPath: marker), "the command ran with the agent's loader variables")
        let only = try cli.run(["run", "--scope", "prod", "--only", "ANTHROPIC_API_KEY", "--", "/usr/bin/touch", marker])
        #expect(only.status != 0 && only.err.contains("not asked for"), "\(only.err)")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test("report --env never sends the value to the agent; with --keyfile it does not use the agent at all")
    func reportSendsNoValue() throws {
        let (cli, key) = try vault()
        let fake = try FakeAgent(socket: cli.environment["KEYWARDEN_SOCKET"]!, answers: FakeAgent.hostileAnswers(key: key), directory: cli.directory)
        defer { fake.stop() }
        let viaAgent = try cli.run(["report", "--env", "ANTHROPIC_API_KEY", "--status", "401"], env: ["ANTHROPIC_API_KEY": key])
        #expect(viaAgent.status == 2, "the fake agent lists no key with that value: \(viaAgent.err)")
        #expect(!fake.received.contains(bytes: Array(key.utf8)), "the value reached the agent")
        #expect(!fake.received.contains(bytes: Array(key.suffix(24).utf8)))
        let before = fake.received.count
        try cli.ok(["report", "--keyfile", cli.keyfile, "--env", "ANTHROPIC_API_KEY", "--status", "401"], env: ["ANTHROPIC_API_KEY": key])
        #expect(fake.received.count == before, "report --keyfile talked to the agent")
        // The vault itself: with an agent up, `audit` would ask the fake one.
        let audit = try cli.ok(["audit", "--keyfile", cli.keyfile, "--failed-auth", "--json"])
        #expect(audit.out.contains("401") || audit.out.contains("invalid"))
    }

    @Test("a locked agent (locked: true as a JSON boolean) is not used")
    func lockedBoolean() throws {
        let (cli, key) = try vault()
        var answers = FakeAgent.hostileAnswers(key: key)
        answers["/v1/health"] = ["status": "ok", "locked": true]
        let fake = try FakeAgent(socket: cli.environment["KEYWARDEN_SOCKET"]!, answers: answers, directory: cli.directory)
        defer { fake.stop() }
        let export = try cli.ok(["export", "--scope", "prod"])
        #expect(export.out.contains(key), "the vault's value")
        #expect(!fake.receivedText.contains("/v1/env") && !fake.receivedText.contains("/v1/ops/"), "the CLI asked a locked agent for values")
        cli.secrets.removeAll()
    }

    @Test("without XDG_RUNTIME_DIR the agent's socket is in the user's home (0700 folder), never /tmp, and the CLI finds it")
    func socketInHome() throws {
        let (cli, key) = try vault()
        cli.environment["KEYWARDEN_SOCKET"] = nil
        cli.environment["XDG_RUNTIME_DIR"] = nil
        cli.environment["XDG_STATE_HOME"] = nil
        let expected = cli.directory.path + "/.local/state/keywarden/run/agent.sock"
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: CommandRunner.keywardenBinary)
        agent.arguments = ["serve", "--rotation-interval", "off"]
        agent.environment = cli.environment
        agent.standardError = FileHandle.nullDevice
        agent.standardOutput = FileHandle.nullDevice
        try agent.run()
        defer { agent.terminate(); agent.waitUntilExit() }
        // Generous deadlines: CI runs the whole suite in parallel on 2 cores.
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: expected), agent.isRunning, Date() < deadline { usleep(25_000) }
        #expect(FileManager.default.fileExists(atPath: expected), "no socket at \(expected)")
        #expect(SecureFilesMode.of((expected as NSString).deletingLastPathComponent) == 0o700)
        // The file appears at bind(); wait until the agent accepts connections.
        while !AgentSocket.isLive(expected), agent.isRunning, Date() < deadline { usleep(25_000) }
        #expect(AgentSocket.isLive(expected), "the agent does not accept connections at \(expected)")
        let export = try cli.ok(["export", "--scope", "prod"], env: ["KEYWARDEN_KEYFILE": nil])
        #expect(export.out.contains(key), "exported through the agent, without credentials")
        #expect(export.err.isEmpty, "\(export.err)")
        cli.secrets.removeAll()
    }

    @Test("run: Keywarden's own credentials are not passed to the command")
    func runDropsOwnCredentials() throws {
        let (cli, key) = try vault()
        cli.secrets.removeAll()
        let result = try cli.ok(["run", "--scope", "prod", "--", "/usr/bin/env"],
                                env: ["KEYWARDEN_PASSPHRASE": "pass-one", "KEYWARDEN_NEW_PASSPHRASE": "pass-two", "KEYWARDEN_TOKEN": "kwt_secret"])
        #expect(result.out.contains("ANTHROPIC_API_KEY=\(key)"))
        for name in ["KEYWARDEN_PASSPHRASE", "KEYWARDEN_NEW_PASSPHRASE", "KEYWARDEN_KEYFILE", "KEYWARDEN_TOKEN"] {
            #expect(!result.out.contains("\(name)="), "\(name) reached the command")
        }
    }

    @Test("run finds the command with the caller's PATH, not a PATH stored in the scope")
    func runUsesCallersPath() throws {
        let (cli, _) = try vault()
        cli.secrets.removeAll()
        let good = cli.directory.file("good-bin"), evil = cli.directory.file("evil-bin")
        for (folder, word) in [(good, "good"), (evil, "evil")] {
            mkdir(folder, 0o755)
            let tool = folder + "/kwtool"
            try Data("#!/bin/sh\necho \(word)\n".utf8).write(to: URL(fileURLWithPath: tool))
            chmod(tool, 0o755)
        }
        let envFile = cli.directory.file("evil.env")
        try Data("PATH=\(evil):/usr/bin:/bin\n".utf8).write(to: URL(fileURLWithPath: envFile))
        let refused = try cli.run(["import", envFile, "--scope", "prod"])
        #expect(refused.status == 2 && refused.err.contains("\(envFile):1: PATH changes how programs load"), "\(refused.err)")
        try cli.ok(["import", envFile, "--scope", "prod", "--allow", "PATH"])
        let result = try cli.ok(["run", "--scope", "prod", "--", "kwtool"], env: ["PATH": "\(good):/usr/bin:/bin"])
        #expect(result.out == "good\n", "ran \(result.out)")
    }

    @Test("the CLI is not dumpable while it runs; run's command keeps the caller's core limits",
          .enabled(if: getuid() == 0, "needs root to see another uid's /proc entry"))
    func notDumpable() throws {
        let (cli, _) = try vault()
        cli.secrets.removeAll()
        // Blocked reading stdin, as uid 65534: the files in /proc/PID of a non-dumpable process belong to root.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", CommandRunner.keywardenBinary, "import", "-", "--scope", "prod"]
        process.environment = cli.environment
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait (generously: CI is loaded) until setpriv has exec'd the CLI —
        // setpriv itself is non-dumpable for a moment after changing uid —
        // then until the CLI has made itself non-dumpable.
        let proc = "/proc/\(process.processIdentifier)"
        func owner() -> Int? { (try? FileManager.default.attributesOfItem(atPath: "\(proc)/status")[.ownerAccountID] as? NSNumber)?.intValue }
        func execd() -> Bool {
            guard let cmdline = FileManager.default.contents(atPath: "\(proc)/cmdline") else { return false }
            return cmdline.split(separator: 0).first.map { String(decoding: $0, as: UTF8.self) } == CommandRunner.keywardenBinary
        }
        let deadline = Date().addingTimeInterval(10)
        while !execd(), process.isRunning, Date() < deadline { usleep(20_000) }
        #expect(execd(), "the CLI did not start")
        while owner() != 0, process.isRunning, Date() < deadline { usleep(20_000) }
        let owner = owner()
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(owner == 0, "/proc/PID/status of the CLI belongs to uid \(owner ?? -1): it is dumpable")

        let hard = try CommandRunner.run("/bin/sh", ["-c", "ulimit -H -c"], environment: cli.environment).out
        let soft = hard.hasPrefix("unlimited") ? "1234" : hard.trimmingCharacters(in: .whitespacesAndNewlines)
        let limits = try CommandRunner.run("/bin/sh", ["-c", "ulimit -S -c \(soft) && exec \"$0\" run --scope prod -- /bin/sh -c 'ulimit -S -c; ulimit -H -c'", CommandRunner.keywardenBinary],
                                           environment: cli.environment)
        #expect(limits.out == "\(soft)\n\(hard)", "the command's core limits (soft, hard): \(limits.out) \(limits.err)")
    }
}

enum SecureFilesMode {
    static func of(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
    }
}

import Foundation
import KeywardenTestSupport
import Testing

/// An agent that speaks HTTP in the ways a real server may and a broken one
/// does: it answers `/v1/health` (unlocked) and `delivery.environment`, and
/// `mode` chooses how — closing every connection after an answer, sending an
/// answer a few bytes at a time (chunked), hanging up on the operation, or
/// answering it with bytes that are not HTTP. Every request line is logged.
final class WireAgent: @unchecked Sendable {
    enum Mode: String {
        case closeAfterAnswer = "close", trickle, hangUp = "hangup", garbage
    }

    static let script = #"""
        import base64, json, os, socket, sys, threading, time
        path, log, mode = sys.argv[1], sys.argv[2], sys.argv[3]
        logf = open(log, "a")
        value = base64.b64encode(b"sk-ant-api03-from-the-wire-agent").decode()
        answers = {"/v1/health": {"status": "ok", "locked": False, "version": "0.1.0"},
                   "/v1/ops/delivery.environment": [{"name": "ANTHROPIC_API_KEY", "value": value}]}
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        os.chmod(path, 0o600)
        server.listen(16)
        print("ready", flush=True)
        def serve(conn):
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk: conn.close(); return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, v = line.partition(b":")
                    if name.strip().lower() == b"content-length": length = int(v.strip())
                while len(rest) < length: rest += conn.recv(65536)
                data = rest[length:]
                target = head.split(b" ")[1].decode()
                logf.write(head.split(b"\r\n")[0].decode() + "\n"); logf.flush()
                body = json.dumps(answers.get(target, {"error": "not found"})).encode()
                operation = target.startswith("/v1/ops/")
                if mode == "hangup" and operation: conn.close(); return
                if mode == "garbage" and operation: conn.sendall(b"SSH-2.0-not-http\r\n\r\n"); conn.close(); return
                if mode == "trickle":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                    for i in range(0, len(body), 3):
                        piece = body[i:i + 3]
                        conn.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n"); time.sleep(0.001)
                    conn.sendall(b"0\r\n\r\n")
                    continue
                close = mode == "close"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                             + (b"\r\nConnection: close" if close else b"") + b"\r\n\r\n" + body)
                if close: conn.close(); return
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        """#

    let process = Process()
    let log: String

    init(socket: String, mode: Mode, directory: TemporaryDirectory) throws {
        log = directory.file("wire-agent-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log, contents: nil)
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, socket, log, mode.rawValue]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        _ = output.fileHandleForReading.availableData  // "ready": listening
    }

    /// The request lines received, in order (`GET /v1/health HTTP/1.1`).
    var requests: [String] {
        String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

@Suite("End to end: the CLI's agent client reads HTTP as a server may send it, and fails clearly when it cannot", .serialized)
struct AgentWireTests {
    /// A vault (whose own key the CLI must not fall back to: the agent is trusted) and a wire agent at its socket.
    func setUp(_ mode: WireAgent.Mode) throws -> (CLIHarness, WireAgent) {
        let cli = CLIHarness()
        try cli.initVault()
        cli.environment["KEYWARDEN_KEYFILE"] = nil
        return (cli, try WireAgent(socket: cli.environment["KEYWARDEN_SOCKET"]!, mode: mode, directory: cli.directory))
    }

    @Test("an agent that closes the connection after each answer: the CLI connects again for the operation")
    func reconnects() throws {
        let (cli, agent) = try setUp(.closeAfterAnswer)
        defer { agent.stop() }
        let export = try cli.ok(["export", "--scope", "prod"])
        #expect(export.out == "ANTHROPIC_API_KEY='sk-ant-api03-from-the-wire-agent'\n", "\(export.out)")
        #expect(agent.requests == ["GET /v1/health HTTP/1.1", "POST /v1/ops/delivery.environment HTTP/1.1"], "\(agent.requests)")
    }

    @Test("an answer sent a few bytes at a time (chunked) is read whole")
    func trickle() throws {
        let (cli, agent) = try setUp(.trickle)
        defer { agent.stop() }
        let export = try cli.ok(["export", "--scope", "prod"])
        #expect(export.out == "ANTHROPIC_API_KEY='sk-ant-api03-from-the-wire-agent'\n", "\(export.out)")
    }

    @Test("an agent that hangs up instead of answering: exit 1 and a clear error, nothing printed")
    func hangUp() throws {
        let (cli, agent) = try setUp(.hangUp)
        defer { agent.stop() }
        let export = try cli.run(["export", "--scope", "prod"])
        #expect(export.status == 1 && export.err.contains("the agent closed the connection before answering"), "\(export.status) \(export.err)")
        #expect(export.out.isEmpty)
    }

    @Test("an answer that is not HTTP: exit 1 and a clear error that quotes none of it")
    func notHTTP() throws {
        let (cli, agent) = try setUp(.garbage)
        defer { agent.stop() }
        let export = try cli.run(["export", "--scope", "prod"])
        #expect(export.status == 1 && export.err.contains("the agent's answer could not be read"), "\(export.status) \(export.err)")
        #expect(!export.err.contains("SSH-2.0"))
        #expect(export.out.isEmpty)
    }
}

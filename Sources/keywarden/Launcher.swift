#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenLaunch
import NIOCore
import NIOHTTP1

/// `keywarden`: a small launcher in front of the full command line
/// (`keywarden-cli`, installed beside it).
///
/// A program's start costs in proportion to its size — the loader's
/// relocations, and the Swift runtime's scans of every protocol conformance
/// in the binary — and the full command line links SwiftNIO, GRDB,
/// PostgresNIO, BoringSSL and Foundation. The two things people and scripts
/// start most often need none of that: `--version`, and `run --scope S --
/// CMD` while the agent is up. This binary answers those itself (it links
/// only the standard library, SwiftNIO's core and HTTP codec, and
/// KeywardenLaunch) and replaces itself with `keywarden-cli` for everything
/// else, with the same arguments, in the same process.
///
/// The launcher's `run` is the full command line's `run` through the agent,
/// not a second implementation: the same shared code (KeywardenLaunch)
/// finds the command, checks the agent's socket and peer, sends the same
/// request and checks the answer the same way. Whenever the full command
/// line would do more than that — another option, no agent, an untrusted or
/// locked agent — the launcher sends nothing, or nothing that was served,
/// and hands over.
@main
enum Launcher {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments == ["--version"] {
            print(KeywardenVersion.current)
            return
        }
        if let run = EverydayRun(arguments) {
            run.startThroughAgent()  // returns only when the full command line should answer
        }
        handOver()
    }

    /// Replaces this process with `keywarden-cli`, same arguments.
    static func handOver() -> Never {
        // What the command line was started with, not what `run` may have set.
        CoreDumps.restoreForChild()
        guard let path = fullCommandLine() else {
            fail(1, "the full command line, keywarden-cli, is not installed beside this keywarden (looked in \(candidates().joined(separator: " and "))); reinstall with scripts/install.sh")
        }
        execv(path, CommandLine.unsafeArgv)
        fail(1, "cannot start \(path): \(String(cString: strerror(errno)))")
    }

    /// `keywarden-cli` beside this binary, else in `../libexec/keywarden/`.
    static func fullCommandLine() -> String? {
        candidates().first { access($0, X_OK) == 0 }
    }

    static func candidates() -> [String] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        // Without /proc (some containers): argv[0], found in PATH as the shell found it.
        let own = length > 0 ? String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : (try? CommandStart.resolve(CommandLine.arguments[0], path: getenv("PATH").map { String(cString: $0) })) ?? CommandLine.arguments[0]
        let folder = own.lastIndex(of: "/").map { String(own[..<$0]) } ?? "."
        return [folder + "/keywarden-cli", folder + "/../libexec/keywarden/keywarden-cli"]
    }

    static func fail(_ code: Int32, _ message: String) -> Never {
        let line = "keywarden: \(message)\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        exit(code)
    }
}

/// `keywarden run --scope S [--only A,B] [--clean] -- CMD …` through the agent.
extension EverydayRun {
    /// Runs the command with the scope's variables, or returns when the full
    /// command line should answer instead (nothing was delivered then).
    func startThroughAgent() {
        if let off = getenv("KEYWARDEN_NO_AGENT").map({ String(cString: $0) }), !off.isEmpty, off != "0" { return }
        // Before anything is opened: the command inherits these descriptors only.
        let inherited = InheritedDescriptors.current()
        CoreDumps.disable()
        // The command is found with the caller's PATH, before any of the scope's variables are set.
        let executable: String
        do {
            executable = try CommandStart.resolve(command[0], path: getenv("PATH").map { String(cString: $0) })
        } catch {
            Launcher.fail(error.code, error.message)
        }
        let path = AgentSocketPath.resolve(environment: Self.environment())
        guard case .success? = AgentTrust.checkFiles(socket: path),
              let socket = try? UnixSocket(connectingTo: path) else { return }
        defer { socket.close() }
        guard let peer = socket.peerCredentials(), case .success = AgentTrust.checkPeer(uid: peer.uid, pid: peer.pid) else { return }

        var body = ByteBuffer()
        body.writeString(requestBody())
        var headers = HTTPHeaders([("Host", "keywarden"), ("Content-Length", String(body.readableBytes)), ("Content-Type", "application/json")])
        headers.add(name: "X-Keywarden-Command", value: "keywarden run")
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/ops/delivery.environment", headers: headers)
        let answer: HTTPExchange.Answer
        do throws(HTTPExchange.Failure) {
            answer = try HTTPExchange.perform(head, body: body, on: socket)
        } catch {
            if case .notSent = error { return }  // nothing reached the agent
            Launcher.fail(1, error.message)
        }
        defer { answer.body.wipeReadableBytes() }
        // A locked or unavailable agent served nothing: the full command line opens the vault itself.
        if answer.status == 423 || answer.status == 503 { return }
        guard answer.status == 200 else {
            let failure = answer.body.withUnsafeReadableBytes { AgentFailure(status: answer.status, body: $0) }
            Launcher.fail(failure.exitCode, failure.message)
        }
        guard var variables = answer.body.withUnsafeReadableBytes({ AgentAnswers.variables($0) }) else {
            Launcher.fail(1, HTTPExchange.Failure.unknownAnswer(to: "delivery.environment"))
        }
        defer { for index in variables.indices { for byte in variables[index].value.indices { variables[index].value[byte] = 0 } } }
        switch DeliveredVariables.problem(variables.map(\.name), only: only) {
        case .failed(let message)?: Launcher.fail(1, message)
        case .invalidInput(let message)?: Launcher.fail(2, message)
        case nil: break
        }

        if clean { CommandStart.clearEnvironmentKeepingPathAndHome() }
        // Keywarden's own credentials unlock the whole vault; the command gets
        // only what the scope gives it (a scope may still define one of these
        // names on purpose, which is set below).
        CommandStart.removeOwnCredentials()
        for variable in variables.sorted(by: { $0.name < $1.name }) {
            variable.value.withUnsafeBytes { CommandStart.setVariable(variable.name, bytes: $0) }
        }
        socket.close()
        inherited.closeOthersOnExec()
        let failure = CommandStart.exec(executable, arguments: command)
        Launcher.fail(failure.code, failure.message)
    }

    /// The operation, as the full command line's `JSONEncoder` writes `Delivery.Environment`.
    func requestBody() -> String {
        var fields = ["\"scope\":\(Self.json(scope))"]
        if let only { fields.append("\"only\":[\(only.map(Self.json).joined(separator: ","))]") }
        fields.append("\"action\":\"run\"")
        fields.append("\"destination\":\(Self.json("command " + CommandStart.programName(command[0])))")
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A JSON string literal.
    static func json(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The process environment as a dictionary (for ``AgentSocketPath``).
    static func environment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") { result[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
            entry += 1
        }
        return result
    }
}

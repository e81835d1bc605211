import Foundation
import Testing
import KeywardenTestSupport

@testable import KeywardenCore

/// Runs the real programs that read exported files. Nothing here
/// re-implements a reader: each check hands the file to the program itself.
enum RealReaders {
    struct Output {
        let status: Int32
        let stdout: [UInt8]
        let stderr: [UInt8]
        var stderrText: String { String(decoding: stderr, as: UTF8.self) }
        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// A fixed, small environment so readers cannot pick up the developer's
    /// variables (python-dotenv and compose-go consult the environment).
    static let environment: [String: String] = {
        let inherited = ProcessInfo.processInfo.environment
        var env = ["LC_ALL": "C.UTF-8", "HOME": "/nonexistent"]
        env["PATH"] = inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for key in ["PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH"] where inherited[key] != nil {
            env[key] = inherited[key]
        }
        return env
    }()

    /// The full path of `program` on PATH, or nil.
    static func locate(_ program: String) -> String? {
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs `program` with `arguments` in `directory`, its output captured in
    /// files (pipes could fill up and deadlock).
    static func run(
        _ program: String, _ arguments: [String], in directory: URL,
        extraEnvironment: [String: String] = [:]
    ) throws -> Output {
        guard let path = locate(program) else { throw ReaderMissing(program: program) }
        let outURL = directory.appendingPathComponent(".stdout-\(UUID().uuidString)")
        let errURL = directory.appendingPathComponent(".stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment.merging(extraEnvironment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Output(
            status: process.terminationStatus,
            stdout: Array(try Data(contentsOf: outURL)),
            stderr: Array(try Data(contentsOf: errURL)))
    }

    struct ReaderMissing: Error, CustomStringConvertible {
        let program: String
        var description: String { "\(program) is not installed" }
    }

    // MARK: Availability, checked once.

    static let hasPythonDotenv: Bool = probe("python3", ["-c", "import dotenv"])
    static let hasBash: Bool = locate("bash") != nil
    static let hasDash: Bool = locate("dash") != nil
    static let hasDockerClient: Bool = locate("docker") != nil && locate("python3") != nil
    static let hasSystemdAnalyze: Bool = probe("systemd-analyze", ["--version"])

    private static func probe(_ program: String, _ arguments: [String]) -> Bool {
        guard locate(program) != nil else { return false }
        return (try? withFormatsTemporaryDirectory { try run(program, arguments, in: $0).status == 0 }) ?? false
    }
}

/// Runs `body` with a new temporary directory that is removed afterwards.
func withFormatsTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("keywarden-formats-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// Writes `bytes` to `name` in `directory` and returns the file's URL.
@discardableResult
func writeFormatsFile(_ bytes: [UInt8], named name: String, in directory: URL) throws -> URL {
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url
}

func formatsHex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// The variable names used around each hostile value: a neighbour before and
/// after catches a value that leaks into, or swallows, the next line.
enum Sandwich {
    static let name = "KW_VALUE"
    static let before: (name: String, value: [UInt8]) = ("KW_BEFORE", Array("before".utf8))
    static let after: (name: String, value: [UInt8]) = ("KW_AFTER", Array("after".utf8))

    static func variables(_ value: [UInt8]) -> [(name: String, value: [UInt8])] {
        [before, (name, value), after]
    }

    /// What a reader must return for the sandwich, as name → hex.
    static func expected(_ value: [UInt8]) -> [String: String] {
        [before.name: formatsHex(before.value), name: formatsHex(value), after.name: formatsHex(after.value)]
    }
}

// MARK: python-dotenv

enum PythonDotenv {
    /// Reads each file with `dotenv_values`; see ``DotenvReaderScripts/python``.
    static let script = DotenvReaderScripts.python

    /// Reads `files` and returns, per path, the name → hex map.
    static func read(_ files: [URL], interpolate: Bool, in directory: URL) throws -> [String: [String: String?]] {
        let output = try RealReaders.run(
            "python3", ["-c", script, interpolate ? "1" : "0"] + files.map(\.path), in: directory)
        guard output.status == 0 else {
            Issue.record("python-dotenv failed: \(output.stderrText)")
            return [:]
        }
        // python-dotenv reports lines it cannot parse on stderr and carries on.
        #expect(output.stderrText.isEmpty, "python-dotenv warned: \(output.stderrText)")
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout)) as? [String: [String: Any]]
        var result: [String: [String: String?]] = [:]
        for (path, values) in object ?? [:] {
            result[path] = values.mapValues { $0 as? String }
        }
        return result
    }
}

// MARK: docker, through a stand-in daemon

/// The docker CLI parses `--env-file` itself (docker/cli pkg/kvfile) and
/// sends the result to the daemon in the container-create request. No daemon
/// runs here, so a stand-in on a Unix socket answers the ping and records
/// each create request's body; the parsing under test is the real CLI's.
enum DockerCLI {
    static let daemonScript = """
        import http.server, os, socketserver, sys, urllib.parse
        sock, outdir = sys.argv[1], sys.argv[2]
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def address_string(self): return "unix"
            def log_message(self, *args): pass
            def reply(self, code, body, ctype="application/json"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Api-Version", "1.45")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(body)
            def do_HEAD(self): self.reply(200, b"OK", "text/plain")
            def do_GET(self):
                if self.path.endswith("/_ping"): self.reply(200, b"OK", "text/plain")
                else: self.reply(404, b'{"message":"not implemented"}')
            def do_POST(self):
                if self.headers.get("Transfer-Encoding") == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        if size == 0:
                            self.rfile.readline(); break
                        body += self.rfile.read(size); self.rfile.readline()
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                url = urllib.parse.urlparse(self.path)
                if url.path.endswith("/containers/create"):
                    name = urllib.parse.parse_qs(url.query).get("name", ["unnamed"])[0]
                    with open(os.path.join(outdir, name + ".json"), "wb") as f: f.write(body)
                    self.reply(201, b'{"Id":"0123456789abcdef","Warnings":[]}')
                else:
                    self.reply(404, b'{"message":"not implemented"}')
        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True
        Server(sock, Handler).serve_forever()
        """

    /// Starts the stand-in daemon in `directory`, runs `body`, stops it.
    static func withDaemon<T>(in directory: URL, _ body: (_ run: (URL, String) throws -> [String]?) throws -> T) throws -> T {
        let socket = directory.appendingPathComponent("d.sock").path
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: RealReaders.locate("python3")!)
        daemon.arguments = ["-c", daemonScript, socket, directory.path]
        daemon.environment = RealReaders.environment
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer {
            // SIGKILL, not terminate(): the test runner's threads block SIGTERM
            // and a spawned child inherits that mask, so SIGTERM would wait forever.
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitUntilExit()
        }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let environment = [
            "DOCKER_HOST": "unix://\(socket)",
            "DOCKER_CONFIG": directory.appendingPathComponent("docker-config").path,
            "DOCKER_CLI_HINTS": "false",
        ]
        // Creates a container from `file`; returns its Env, or nil if the CLI refused the file.
        func create(_ file: URL, _ containerName: String) throws -> [String]? {
            let output = try RealReaders.run(
                "docker", ["create", "--name", containerName, "--env-file", file.path, "busybox"],
                in: directory, extraEnvironment: environment)
            guard output.status == 0 else { return nil }
            let request = try Data(contentsOf: directory.appendingPathComponent("\(containerName).json"))
            let object = try JSONSerialization.jsonObject(with: request) as? [String: Any]
            return object?["Env"] as? [String] ?? []
        }
        return try body(create)
    }
}

// MARK: systemd, through its os-release reader

/// systemd reads `EnvironmentFile=` and os-release files with the same
/// tokenizer (`parse_env_file_internal` in src/basic/env-file.c). With no
/// systemd running here, `systemd-analyze condition ConditionOSRelease=` is
/// the way to make the real code read a file: `SYSTEMD_OS_RELEASE` points it
/// at our file, and the `$=` operator compares a value with an fnmatch
/// pattern in which every ASCII punctuation character is escaped.
enum SystemdReader {
    /// The condition argument that holds iff `name` reads back as `value`
    /// (non-empty).
    static func condition(name: String, value: [UInt8]) -> String {
        var pattern: [UInt8] = []
        for byte in value {
            let isAlphanumeric = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            // fnmatch: a backslash makes the next character literal. Letters and
            // digits are left alone to keep the argument under the kernel's
            // 128 KiB limit for the 100 KiB value.
            // Controls are escaped too: ConditionOSRelease= rejects a pattern
            // that starts with whitespace.
            if byte < 0x80, !isAlphanumeric { pattern.append(UInt8(ascii: "\\")) }
            pattern.append(byte)
        }
        // extract_first_word(EXTRACT_UNQUOTE): inside "…" a backslash makes the
        // next character literal, so backslashes and quotes are doubled up.
        var word: [UInt8] = Array("\"\(name)$=".utf8)
        for byte in pattern {
            if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { word.append(UInt8(ascii: "\\")) }
            // Unit-file specifiers: %% is a literal %.
            if byte == UInt8(ascii: "%") { word.append(byte) }
            word.append(byte)
        }
        word.append(UInt8(ascii: "\""))
        return "ConditionOSRelease=" + String(decoding: word, as: UTF8.self)
    }

    /// True if every condition holds for the os-release file at `file`.
    static func holds(_ conditions: [String], file: URL, in directory: URL) throws -> Bool {
        let output = try RealReaders.run(
            "systemd-analyze", ["condition"] + conditions, in: directory,
            extraEnvironment: ["SYSTEMD_OS_RELEASE": file.path, "SYSTEMD_LOG_LEVEL": "info"])
        return output.status == 0
    }
}

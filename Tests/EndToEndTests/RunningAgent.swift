import Foundation
import KeywardenTestSupport

/// A running `keywarden serve` for one test, stopped (SIGTERM) at the end.
final class RunningAgent: @unchecked Sendable {
    let process = Process()
    let socket: String
    let stderr = Pipe()

    /// `shellPrefix`: shell commands run before the agent starts (e.g. `ulimit -S -n 128;`).
    init(_ cli: CLIHarness, extra: [String] = [], umaskZero: Bool = false, shellPrefix: String? = nil) throws {
        socket = cli.environment["KEYWARDEN_SOCKET"]!
        if umaskZero || shellPrefix != nil {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\(shellPrefix ?? "") \(umaskZero ? "umask 000;" : "") exec \"$0\" \"$@\"", CommandRunner.keywardenBinary, "serve"] + extra
        } else {
            process.executableURL = URL(fileURLWithPath: CommandRunner.keywardenBinary)
            process.arguments = ["serve"] + extra
        }
        process.environment = cli.environment
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Generous: unlocking (Argon2) on a loaded machine running the whole suite takes a while.
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline && process.isRunning {
            if let r = try? CommandRunner.run("/usr/bin/curl", ["-s", "--unix-socket", socket, "http://k/v1/health"], environment: cli.environment, timeout: 5),
               r.status == 0, r.out.contains("ok") { return }
            usleep(25_000)
        }
        process.terminate()
        throw AgentDidNotStart(log: String(decoding: stderr.fileHandleForReading.availableData, as: UTF8.self))
    }

    struct AgentDidNotStart: Error { var log: String }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    deinit { stop() }
}

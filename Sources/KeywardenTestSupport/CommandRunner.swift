import Foundation

/// What a finished process produced.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// Whether the process ended by a signal (then `status` is the signal number).
    public var signalled: Bool

    public var out: String { String(decoding: stdout, as: UTF8.self) }
    public var err: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs programs (the built `keywarden`, shells, readers) with a controlled
/// environment and stdin, collecting their output.
public enum CommandRunner {
    /// The built `keywarden` binary: `$KEYWARDEN_BIN`, else next to the test bundle.
    public static var keywardenBinary: String {
        if let explicit = ProcessInfo.processInfo.environment["KEYWARDEN_BIN"] { return explicit }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [bundle.appendingPathComponent("keywarden").path]
        // When run through `swift test`, arguments[0] may be the xctest helper.
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/keywarden").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// Runs `executable` with `arguments`, `environment` (replacing the
    /// inherited one) and `stdin`, waiting at most `timeout` seconds.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], stdin: [UInt8] = [],
        currentDirectory: String? = nil, timeout: TimeInterval = 60
    ) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read both pipes concurrently so a chatty process cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var outBytes = Data(), errBytes = Data()
        group.enter()
        DispatchQueue.global().async { outBytes = output.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errBytes = errors.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if !stdin.isEmpty { try? input.fileHandleForWriting.write(contentsOf: Data(stdin)) }
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(2000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw TimeoutError(command: ([executable] + arguments).joined(separator: " "), seconds: timeout)
        }
        process.waitUntilExit()
        group.wait()
        return CommandResult(
            status: process.terminationStatus, stdout: Array(outBytes), stderr: Array(errBytes),
            signalled: process.terminationReason == .uncaughtSignal)
    }

    public struct TimeoutError: Error, CustomStringConvertible {
        public var command: String
        public var seconds: TimeInterval
        public var description: String { "\(command) did not finish within \(seconds) s" }
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs anywhere in these bytes.
    public func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        for start in 0...(count - needle.count) where self[start] == needle[0] {
            if self[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}

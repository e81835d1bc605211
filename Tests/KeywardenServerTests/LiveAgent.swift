#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore
@testable import KeywardenServer
import Logging
import NIOCore
import ServiceLifecycle
import Testing

/// Serves the fixture's application on its Unix socket while `body` runs
/// (with the socket's path), then shuts it down as SIGTERM would: the tests
/// of what happens on the event loop, which `.router` tests never reach.
func withLiveAgent<T: Sendable>(_ fixture: AgentFixture, _ body: @Sendable (String) async throws -> T) async throws -> T {
    let (running, started) = AsyncStream.makeStream(of: Void.self)
    let app = fixture.application(onRunning: { started.yield() })
    let services = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "agent-test")))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        for await _ in running { break }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(fixture.directory.file("agent.sock")))
        } catch {
            result = .failure(error)
        }
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
        return try result.get()
    }
}

/// The kernel's peer (`SO_PEERCRED`) stood in for by one fixed peer per
/// connection, as the kernel's is: to be another user on a live socket.
struct FixedPeers: PeerIdentifier {
    let peer: PeerCredentials

    var samePeerPerConnection: Bool { true }

    func peer(of request: Request, context: AgentRequestContext) async throws -> PeerCredentials { peer }

    func peer(of channel: any Channel, head: HTTPRequest) -> EventLoopFuture<PeerCredentials> {
        channel.eventLoop.makeSucceededFuture(peer)
    }
}

/// A keep-alive HTTP/1.1 client on a Unix socket that sends exactly the
/// bytes it is given and returns each answer's exact bytes: what a program
/// reading its key in a loop does, and what the tests compare byte for byte.
/// Its blocking reads run on a Dispatch thread, not on the concurrency pool
/// that the agent's own tasks need (two threads on a 2-core machine).
final class RawHTTPConnection: @unchecked Sendable {
    struct Answer {
        var status: Int
        /// The head as sent, with the `Date` field's value blanked (it changes every second).
        var head: String
        var body: String
        var date: String
    }

    /// Seconds a read waits for the agent's bytes.
    static let readTimeout = 90

    private let descriptor: Int32
    private var pending: [UInt8] = []

    init(socket path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        // Long enough for a test process that shares two cores with every
        // other suite: a slow answer is not what these tests are about.
        var timeout = timeval(tv_sec: Self.readTimeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    deinit {
        close(descriptor)
    }

    /// Sends `text` as it is (one write: one read on the agent's side).
    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// `GET target` with `fields` (`name: value`), then its answer.
    func get(_ target: String, _ fields: [String] = []) async throws -> Answer {
        send("GET \(target) HTTP/1.1\r\nHost: agent\r\n" + fields.map { "\($0)\r\n" }.joined() + "\r\n")
        return try await answer()
    }

    /// The next answer (it must carry Content-Length).
    func answer() async throws -> Answer {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try self.readAnswer() }) }
        }
    }

    private func readAnswer() throws -> Answer {
        while true {
            if let end = headEnd() {
                let head = String(decoding: pending[..<end], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if pending.count >= end + length {
                    let body = String(decoding: pending[end..<(end + length)], as: UTF8.self)
                    pending.removeFirst(end + length)
                    let status = Int(head.split(separator: " ")[1]) ?? 0
                    var date = ""
                    let blanked = head.split(separator: "\r\n", omittingEmptySubsequences: false).map { line -> String in
                        guard line.lowercased().hasPrefix("date: ") else { return String(line) }
                        date = String(line.dropFirst(6))
                        return "Date: …"
                    }.joined(separator: "\r\n")
                    return Answer(status: status, head: blanked, body: body, date: date)
                }
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard n > 0 else { throw ReadFailure(received: pending.count, error: n == 0 ? nil : errno) }
            pending += buffer[..<n]
        }
    }

    /// Why no whole answer came: the agent closed the connection (`error`
    /// nil) or the read failed (EAGAIN: nothing within the time limit).
    struct ReadFailure: Error, CustomStringConvertible {
        var received: Int
        var error: Int32?

        var description: String {
            guard let error else { return "the agent closed the connection after \(received) bytes of an answer" }
            return error == EAGAIN || error == EWOULDBLOCK
                ? "no whole answer within \(RawHTTPConnection.readTimeout) s (\(received) bytes of it)"
                : "read failed: \(String(cString: strerror(error))) after \(received) bytes"
        }
    }

    private func headEnd() -> Int? {
        guard pending.count >= 4 else { return nil }
        for i in 0...(pending.count - 4) where pending[i] == 13 && pending[i + 1] == 10 && pending[i + 2] == 13 && pending[i + 3] == 10 {
            return i + 4
        }
        return nil
    }
}

extension AgentFixture {
    /// How many `agent.serve` events of `detail` (`served: ANTHROPIC_API_KEY`)
    /// are committed, counting an aggregated event (`… (×N, …)`) as N.
    func committedServes(_ detail: String) throws -> Int {
        try committedEvents("agent.serve").reduce(0) { total, event in
            guard let text = event.detail, text.hasPrefix(detail) else { return total }
            let rest = text.dropFirst(detail.count)
            guard rest.hasPrefix(" (×") else { return rest.isEmpty ? total + 1 : total }
            return total + (Int(rest.dropFirst(3).prefix { $0.isNumber }) ?? 0)
        }
    }
}

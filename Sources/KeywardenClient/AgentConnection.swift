#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import KeywardenLaunch

/// One keep-alive HTTP/1.1 connection to the agent's Unix socket: a blocking
/// socket (``UnixSocket``) with SwiftNIO's HTTP client codec
/// (``HTTPExchange``). Requests go one at a time, which is all a command
/// needs; a command has nothing else to do while it waits, so blocking the
/// calling thread costs nothing, where an event loop group cost threads.
///
/// Before the first byte is written, the kernel is asked who listens
/// (`SO_PEERCRED`): only the caller's own uid or root gets a request, since a
/// request may carry a key (`report`) or ask for values (`run`).
final class AgentConnection: @unchecked Sendable {
    typealias Answer = HTTPExchange.Answer

    let path: String
    /// The listening process, as the kernel reported it at the first
    /// connect (a reconnect is checked the same way, against the caller's uid).
    let peer: AgentPeer
    /// Guards `socket`: one request at a time (@unchecked Sendable above).
    private let lock = NIOLock()
    private var socket: UnixSocket

    private init(path: String, socket: UnixSocket, peer: AgentPeer) {
        self.path = path
        self.socket = socket
        self.peer = peer
    }

    /// Connects and checks the listener's uid; a listener that is not the
    /// caller or root throws ``AgentTrust/Refusal`` with nothing sent.
    static func connect(path: String) throws -> AgentConnection {
        let (socket, peer) = try link(to: path)
        return AgentConnection(path: path, socket: socket, peer: peer)
    }

    private static func link(to path: String) throws -> (UnixSocket, AgentPeer) {
        let socket = try UnixSocket(connectingTo: path)
        guard let credentials = socket.peerCredentials() else {
            socket.close()
            throw AgentTrust.Refusal(reason: "the kernel does not say who runs it")
        }
        if case .failure(let refusal) = AgentTrust.checkPeer(uid: credentials.uid, pid: credentials.pid) {
            socket.close()
            throw refusal
        }
        return (socket, AgentPeer(uid: credentials.uid, pid: credentials.pid))
    }

    /// A socket that can carry a request: the agent closes idle connections
    /// (30 s), and a command may wait longer than that at a prompt. A new
    /// connection is checked like the first, before anything is written on it.
    private func usableSocket() throws -> UnixSocket {
        if !socket.isReusable {
            socket.close()
            do {
                socket = try Self.link(to: path).0
            } catch let refusal as AgentTrust.Refusal {
                throw KeywardenError(.failed, "the agent at \(path) closed the connection, and what listens there now is not trusted: \(refusal.reason)")
            } catch {
                throw KeywardenError(.failed, "the agent at \(path) closed the connection and does not answer any more (is it still running?); nothing was done")
            }
        }
        return socket
    }

    /// Sends one request and waits for the whole answer.
    func request(_ method: HTTPMethod, _ target: String, body: ByteBuffer? = nil, headers extra: [(String, String)] = []) throws -> Answer {
        // The head is made of routes, operation and command names; a line
        // break in one would start a header or a request of its own.
        guard !([target] + extra.flatMap { [$0.0, $0.1] }).contains(where: { $0.contains(where: \.isNewline) }) else {
            throw KeywardenError(.invalidInput, "a request to the agent cannot carry a line break in its target or headers")
        }
        var headers = HTTPHeaders([("Host", "keywarden"), ("Content-Length", String(body?.readableBytes ?? 0))])
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        for (name, value) in extra { headers.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers)
        return try lock.withLock {
            let socket = try usableSocket()
            do throws(HTTPExchange.Failure) {
                let answer = try HTTPExchange.perform(head, body: body, on: socket)
                // Not left for the next request to find closed.
                if !answer.keepAlive { socket.close() }
                return answer
            } catch {
                // Whatever is left on this connection belongs to no request.
                socket.close()
                throw KeywardenError(.failed, error.message)
            }
        }
    }

    func close() {
        lock.withLock { socket.close() }
    }
}

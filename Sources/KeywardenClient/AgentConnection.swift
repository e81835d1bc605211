#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPeerCredentials
import KeywardenCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection to the agent's Unix socket, on
/// SwiftNIO's HTTP client codec. Requests go one at a time (an actor), which
/// is all a command needs.
///
/// Before the first byte is written, the kernel is asked who listens
/// (`SO_PEERCRED`): only the caller's own uid or root gets a request, since a
/// request may carry a key (`report`) or ask for values (`run`).
actor AgentConnection {
    struct Answer: Sendable {
        var status: Int
        var body: ByteBuffer
    }

    let path: String
    /// The listening process, as the kernel reported it at the first
    /// connect (a reconnect is checked the same way, against the caller's uid).
    nonisolated let peer: AgentPeer
    private var channel: any Channel
    private var collector: ResponseCollector

    private init(path: String, link: Link) {
        self.path = path
        peer = link.peer
        channel = link.channel
        collector = link.collector
    }

    /// A connected, checked channel.
    private struct Link {
        var channel: any Channel
        var collector: ResponseCollector
        var peer: AgentPeer
    }

    /// Connects and checks the listener's uid; a listener that is not the
    /// caller or root throws ``AgentTrust/Refusal`` with nothing sent.
    static func connect(path: String) async throws -> AgentConnection {
        AgentConnection(path: path, link: try await link(to: path))
    }

    private static func link(to path: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> Link {
        let collector = ResponseCollector()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(unixDomainSocketPath: path).get()
        do {
            return Link(channel: channel, collector: collector, peer: try await checkPeer(of: channel))
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// A channel that is still open: the agent closes idle connections (30 s),
    /// and a command may wait longer than that at a prompt. A new connection
    /// is checked like the first, before anything is written on it.
    private func openChannel() async throws -> (any Channel, ResponseCollector) {
        if !channel.isActive {
            let link: Link
            do {
                link = try await Self.link(to: path)
            } catch let refusal as AgentTrust.Refusal {
                throw KeywardenError(.failed, "the agent at \(path) closed the connection, and what listens there now is not trusted: \(refusal.reason)")
            } catch {
                throw KeywardenError(.failed, "the agent at \(path) closed the connection and does not answer any more (is it still running?); nothing was done")
            }
            (channel, collector) = (link.channel, link.collector)
        }
        return (channel, collector)
    }

    private static func checkPeer(of channel: any Channel) async throws -> AgentPeer {
        guard let provider = channel as? any SocketOptionProvider else {
            throw AgentTrust.Refusal(reason: "the kernel does not say who runs it")
        }
        let credentials: kw_ucred
        do {
            credentials = try await provider.unsafeGetSocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: kw_so_peercred())).get()
        } catch {
            throw AgentTrust.Refusal(reason: "the kernel does not say who runs it (SO_PEERCRED: \(error))")
        }
        if case .failure(let refusal) = AgentTrust.checkPeer(uid: credentials.uid, pid: credentials.pid) { throw refusal }
        return AgentPeer(uid: credentials.uid, pid: credentials.pid)
    }

    /// Sends one request and waits for the whole answer.
    func request(_ method: HTTPMethod, _ target: String, body: ByteBuffer? = nil, headers extra: [(String, String)] = []) async throws -> Answer {
        var headers = HTTPHeaders([("Host", "keywarden"), ("Content-Length", String(body?.readableBytes ?? 0))])
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        for (name, value) in extra { headers.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers)
        let (channel, collector) = try await openChannel()
        return try await collector.send(head, body: body, on: channel).get()
    }

    func close() async {
        try? await channel.close()
    }

    deinit {
        channel.close(promise: nil)
    }
}

/// Gathers one response (head and body) at a time into a promise.
final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    // Touched only on the channel's event loop.
    private var pending: EventLoopPromise<AgentConnection.Answer>?
    private var status = 0
    private var body = ByteBuffer()

    /// Writes one request and returns its answer. Everything happens on the
    /// channel's event loop, so the promise is always completed: by the
    /// answer, by a failed write, or by the connection closing (an agent that
    /// restarts locked closes it) — never left behind.
    func send(_ head: HTTPRequestHead, body: ByteBuffer?, on channel: any Channel) -> EventLoopFuture<AgentConnection.Answer> {
        channel.eventLoop.flatSubmit {
            guard channel.isActive, self.pending == nil else {
                return channel.eventLoop.makeFailedFuture(KeywardenError(.failed, "the agent closed the connection"))
            }
            let promise = channel.eventLoop.makePromise(of: AgentConnection.Answer.self)
            self.pending = promise
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { error in
                self.fail(KeywardenError(.failed, "the request could not be sent to the agent: \(error)"))
            }
            return promise.futureResult
        }
    }

    private func fail(_ error: KeywardenError) {
        pending?.fail(error)
        pending = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            let answer = AgentConnection.Answer(status: status, body: body)
            body = ByteBuffer()
            pending?.succeed(answer)
            pending = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(KeywardenError(.failed, "the agent closed the connection before answering"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(KeywardenError(.failed, "the agent's answer could not be read: \(error)"))
        context.close(promise: nil)
    }
}

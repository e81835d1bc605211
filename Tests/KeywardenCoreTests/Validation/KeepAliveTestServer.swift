import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A plain HTTP/1.1 server on 127.0.0.1 that counts connections and answers
/// every request 200 with a small JSON body, behaving as `Behaviour` says
/// about keeping connections alive.
final class KeepAliveTestServer: Sendable {
    enum Behaviour: Sendable {
        /// Keeps every connection open (HTTP/1.1's default).
        case keepAlive
        /// Answers with `Connection: close` and closes.
        case closeAfterEachAnswer
        /// Answers the first request on a connection; when a second one
        /// arrives, closes without a byte, as a server whose idle timer fired
        /// just as the request came in.
        case dropSecondRequest
        /// Closes a connection `milliseconds` after each answer, without saying so.
        case closeWhenIdle(milliseconds: Int64)
    }

    let port: Int
    private let channel: any Channel
    private let counters: NIOLockedValueBox<Counters>

    struct Counters {
        var accepted = 0
        var open = 0
        var requests = 0
        var answered = 0
        var connectionHeaders: [String] = []
    }

    private init(port: Int, channel: any Channel, counters: NIOLockedValueBox<Counters>) {
        self.port = port
        self.channel = channel
        self.counters = counters
    }

    static func start(_ behaviour: Behaviour, body: String = #"{"data":[]}"#) async throws -> KeepAliveTestServer {
        let counters = NIOLockedValueBox(Counters())
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(behaviour: behaviour, body: body, counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return KeepAliveTestServer(port: channel.localAddress!.port!, channel: channel, counters: counters)
    }

    var counts: Counters { counters.withLockedValue { $0 } }

    /// The base URL of a provider pointed at this server.
    var baseURL: String { "http://127.0.0.1:\(port)" }

    func shutdown() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let behaviour: Behaviour
        let body: String
        let counters: NIOLockedValueBox<Counters>
        var requestsOnThisConnection = 0
        var idleClose: Scheduled<Void>?

        init(behaviour: Behaviour, body: String, counters: NIOLockedValueBox<Counters>) {
            self.behaviour = behaviour
            self.body = body
            self.counters = counters
        }

        func channelActive(context: ChannelHandlerContext) {
            counters.withLockedValue { $0.accepted += 1; $0.open += 1 }
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            counters.withLockedValue { $0.open -= 1 }
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            idleClose?.cancel()
            requestsOnThisConnection += 1
            counters.withLockedValue {
                $0.requests += 1
                $0.connectionHeaders.append(head.headers["connection"].joined(separator: ","))
            }
            if case .dropSecondRequest = behaviour, requestsOnThisConnection > 1 {
                context.close(promise: nil)
                return
            }
            // Counted before the answer leaves: a client that has its answer
            // finds it counted (after the write, the count raced the client).
            counters.withLockedValue { $0.answered += 1 }
            var headers = HTTPHeaders([("content-type", "application/json"), ("content-length", String(body.utf8.count))])
            if case .closeAfterEachAnswer = behaviour { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            switch behaviour {
            case .closeAfterEachAnswer:
                written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            case .closeWhenIdle(let milliseconds):
                let channel = context.channel
                idleClose = context.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) { channel.close(promise: nil) }
            default: break
            }
        }
    }
}

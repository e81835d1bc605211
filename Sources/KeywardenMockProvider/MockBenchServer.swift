import KeywardenCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// The mock for benchmarks (`keywarden-mock --bench`): plain HTTP/1.1 on
/// loopback, keep-alive, any key accepted, fixed answers built once, and
/// nothing recorded, so no lock or log on the hot path.
///
/// - `POST …/v1/messages`: the mock's fixed Anthropic message (about 600
///   bytes), or with `"stream":true` its 20 SSE events, the first at once
///   and the rest `streamDelay` (1 ms) apart;
/// - `POST …/chat/completions`: the same in OpenAI's shapes;
/// - any other path under a built-in provider: that provider's documented
///   valid answer (so `keywarden add` can probe the key); else 404.
public final class MockBenchServer: Sendable {
    public let port: Int
    private let channel: any Channel

    /// The pause between two events of a stream.
    public static let streamDelay: TimeAmount = .milliseconds(1)

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    /// Listens on `host` (127.0.0.1 unless given) at `port` (chosen by the system when 0).
    public static func start(host: String = "127.0.0.1", port: Int = 0) async throws -> MockBenchServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MockBenchHandler())
                }
            }
            .bind(host: host, port: port).get()
        return MockBenchServer(port: channel.localAddress!.port!, channel: channel)
    }

    /// Stops listening (connections already open finish on their own).
    public func shutdown() async { try? await channel.close() }
}

/// One connection's requests in bench mode.
final class MockBenchHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var body: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
        case .body(var buffer):
            if body == nil {
                body = buffer
            } else if body!.readableBytes < MockRequest.bodyLimit {
                body!.writeBuffer(&buffer)
            }
        case .end:
            guard let head else { return }
            let asksForStream = body.map { MockStreams.asksForStream($0.readableBytesView) } ?? false
            self.head = nil
            body = nil
            respond(to: head, stream: asksForStream, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, stream: Bool, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let answers: Answers?
        if head.method == .POST && path.hasSuffix("/v1/messages") {
            answers = Self.anthropic
        } else if head.method == .POST && path.hasSuffix("/chat/completions") {
            answers = Self.openAI
        } else {
            answers = nil
        }
        if let answers {
            if stream {
                MockChunkedAnswer(headers: Self.sse, chunks: answers.events, delay: MockBenchServer.streamDelay,
                                  keepAlive: head.isKeepAlive).start(context: context)
            } else {
                send(status: .ok, headers: Self.json, body: answers.message, keepAlive: head.isKeepAlive, context: context)
            }
            return
        }
        let provider = path.split(separator: "/").first.flatMap { Self.probeAnswers[String($0)] }
        if let provider {
            send(status: provider.status, headers: provider.headers, body: provider.body, keepAlive: head.isKeepAlive, context: context)
        } else {
            send(status: .notFound, headers: Self.json, body: Self.notFound, keepAlive: head.isKeepAlive, context: context)
        }
    }

    private func send(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = headers
        headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }

    // MARK: Answers, built once

    private struct Answers {
        var message: ByteBuffer
        var events: [ByteBuffer]
    }

    private static let anthropic = Answers(message: ByteBuffer(bytes: MockStreams.anthropicMessage),
                                           events: MockStreams.anthropicEvents.map { ByteBuffer(bytes: $0) })
    private static let openAI = Answers(message: ByteBuffer(bytes: MockStreams.openAICompletion),
                                        events: MockStreams.openAIEvents.map { ByteBuffer(bytes: $0) })
    private static let json = HTTPHeaders([("content-type", "application/json")])
    private static let sse = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
    private static let notFound = ByteBuffer(string: #"{"error":"unknown mock provider path"}"#)

    /// Each built-in provider's documented valid answer to its probe.
    private static let probeAnswers: [String: (status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer)] =
        Dictionary(uniqueKeysWithValues: BuiltinProviders.list.compactMap { provider in
            provider.answer(for: "valid").map {
                (provider.name, (HTTPResponseStatus(statusCode: $0.response.status), HTTPHeaders($0.response.headers), ByteBuffer(bytes: $0.response.body)))
            }
        })
}

import Foundation
import KeywardenCore
import KeywardenMockProvider
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// The mock provider's gateway-facing side: chat answers and SSE streams,
/// run-time scenarios, `flakyoverload`, request capture, open connections,
/// and the bench server.
@Suite("Mock provider: chat, streams and controls", .serialized)
struct MockProviderStreamTests {
    static let anthropicStreamBody = #"{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#
    static let openAIStreamBody = #"{"model":"gpt-4o-mini", "stream": true, "messages":[{"role":"user","content":"hi"}]}"#

    static func anthropic(_ key: String) -> [(String, String)] { [("x-api-key", key), ("anthropic-version", "2023-06-01")] }
    static func bearer(_ key: String) -> [(String, String)] { [("authorization", "Bearer \(key)")] }

    /// The path of `provider`'s base URL on `mock` (`/groq/openai`).
    static func basePath(_ mock: MockProviderServer, _ provider: String) -> String {
        URLComponents(string: mock.baseURL(for: provider))!.path
    }

    /// SSE events in a body, each with its `\n\n`.
    static func events(_ body: [UInt8]) -> [String] {
        String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").dropLast().map { $0 + "\n\n" }
    }

    @Test("an Anthropic stream is chunked SSE, 20 framed events, the same bytes as expectedStream every time")
    func anthropicStream() async throws {
        let mock = try await MockProviderServer.start()
        let client = try await TestHTTPClient.connect(port: mock.port)
        let first = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic("sk-ant-api03-stream-valid"), body: Self.anthropicStreamBody)
        let second = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic("sk-ant-api03-stream-valid"), body: Self.anthropicStreamBody)
        await client.close()
        await mock.shutdown()

        #expect(first.head.status == .ok)
        #expect(first.head.headers.first(name: "content-type") == "text/event-stream")
        #expect(first.head.headers.first(name: "transfer-encoding") == "chunked")
        #expect(first.head.headers.first(name: "content-length") == nil)
        let expected = MockProviderServer.expectedStream(provider: "anthropic")
        #expect(first.body == expected)
        #expect(second.body == expected, "the same request gets the same bytes")
        let events = Self.events(first.body)
        #expect(events.count == 20)
        let names = events.map { $0.split(separator: "\n").first.map(String.init) ?? "" }
        #expect(names.first == "event: message_start")
        #expect(Array(names.suffix(3)) == ["event: content_block_stop", "event: message_delta", "event: message_stop"])
        #expect(names.filter { $0 == "event: content_block_delta" }.count == 14)
        #expect(events.allSatisfy { $0.hasPrefix("event: ") && $0.contains("\ndata: {") })
    }

    @Test("OpenAI-style streams end with data: [DONE], under each provider's base path")
    func openAIStreams() async throws {
        let mock = try await MockProviderServer.start()
        let client = try await TestHTTPClient.connect(port: mock.port)
        let expected = MockProviderServer.expectedStream(provider: "openai")
        for provider in ["openai", "deepseek", "groq"] {
            let path = Self.basePath(mock, provider) + (provider == "deepseek" ? "/chat/completions" : "/v1/chat/completions")
            let answer = try await client.request(.POST, path, headers: Self.bearer("sk-stream-valid"), body: Self.openAIStreamBody)
            #expect(answer.head.status == .ok, "\(path)")
            #expect(answer.head.headers.first(name: "content-type") == "text/event-stream")
            #expect(answer.body == expected, "\(path)")
        }
        let events = Self.events(expected)
        #expect(events.count == 20)
        #expect(events.last == "data: [DONE]\n\n")
        #expect(events.allSatisfy { $0.hasPrefix("data: ") })
        #expect(MockProviderServer.expectedStream(provider: "deepseek") == expected)

        let whole = try await client.request(.POST, Self.basePath(mock, "groq") + "/v1/chat/completions", headers: Self.bearer("sk-json-valid"),
                                             body: #"{"model":"llama","messages":[]}"#)
        #expect(whole.head.status == .ok)
        #expect(whole.body == MockProviderServer.expectedMessage(provider: "groq"))
        #expect(String(decoding: whole.body, as: UTF8.self).contains(#""object":"chat.completion""#))
        let probe = try await client.request(.GET, "/openai/v1/models", headers: Self.bearer("sk-json-valid"))
        #expect(probe.body == BuiltinProviders.provider(named: "openai")!.answer(for: "valid")!.response.body, "probes keep their documented answers")
        await client.close()
        await mock.shutdown()
    }

    @Test("a stream's events arrive spread out: the first long before the last is written")
    func streamedOverTime() async throws {
        let mock = try await MockProviderServer.start()
        mock.streamDelay = .milliseconds(30)
        let client = try await TestHTTPClient.connect(port: mock.port)
        let answer = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic("sk-ant-api03-spread-valid"), body: Self.anthropicStreamBody)
        await client.close()
        await mock.shutdown()

        #expect(answer.body == MockProviderServer.expectedStream(provider: "anthropic"))
        #expect(answer.parts.count >= 2, "one read would mean the stream was buffered")
        let firstPart = try #require(answer.parts.first).at
        // 19 pauses of 30 ms: the last event is written at least 570 ms after the first.
        let spread = (answer.ended - firstPart).nanoseconds / 1_000_000
        #expect(spread >= 400, "first event \(spread) ms before the end")
        #expect(answer.parts[0].count < answer.body.count)
    }

    @Test("setScenario overrides a key's words until cleared")
    func scenarioOverride() async throws {
        let mock = try await MockProviderServer.start()
        let client = try await TestHTTPClient.connect(port: mock.port)
        let key = "sk-ant-api03-alpha-valid"
        let before = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic(key), body: "{}")
        mock.setScenario(forKeyContaining: "alpha", "invalid")
        let revoked = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic(key), body: "{}")
        let probe = try await client.request(.GET, "/anthropic/v1/models", headers: Self.anthropic(key))
        let other = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic("sk-ant-api03-beta-valid"), body: "{}")
        mock.setScenario(forKeyContaining: "alpha", "ratelimited")
        let limited = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic(key), body: "{}")
        mock.setScenario(forKeyContaining: "alpha", nil)
        let after = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic(key), body: "{}")
        await client.close()
        await mock.shutdown()

        let invalid = BuiltinProviders.provider(named: "anthropic")!.answer(for: "invalid")!.response
        #expect(before.head.status == .ok && before.body == MockProviderServer.expectedMessage(provider: "anthropic"))
        #expect(revoked.head.status.code == 401 && revoked.body == invalid.body)
        #expect(probe.head.status.code == 401)
        #expect(other.head.status == .ok, "only keys containing the marker change")
        #expect(limited.head.status.code == 429 && limited.head.headers["retry-after"] == ["1"])
        #expect(after.head.status == .ok && after.body == MockProviderServer.expectedMessage(provider: "anthropic"))
        #expect(mock.requests(withKeyContaining: "alpha") == 5)
    }

    @Test("flakyoverload: the documented overloaded answer once (Anthropic 529), then valid")
    func flakyOverload() async throws {
        let mock = try await MockProviderServer.start()
        let client = try await TestHTTPClient.connect(port: mock.port)
        let key = "sk-ant-api03-flakyoverload-one"
        let first = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic(key), body: "{}")
        let second = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic(key), body: "{}")
        let openAIFirst = try await client.request(.POST, "/openai/v1/chat/completions", headers: Self.bearer("sk-flakyoverload-two"), body: "{}")
        let openAISecond = try await client.request(.POST, "/openai/v1/chat/completions", headers: Self.bearer("sk-flakyoverload-two"), body: "{}")
        let plain = try await client.request(.POST, "/openrouter/api/v1/chat/completions", headers: Self.bearer("sk-flakyoverload-three"), body: "{}")
        await client.close()
        await mock.shutdown()

        #expect(first.head.status.code == 529)
        #expect(first.body == BuiltinProviders.provider(named: "anthropic")!.answer(for: "overloaded")!.response.body)
        #expect(second.head.status == .ok && second.body == MockProviderServer.expectedMessage(provider: "anthropic"))
        #expect(openAIFirst.head.status.code == 503)
        #expect(openAIFirst.body == BuiltinProviders.provider(named: "openai")!.answer(for: "overloaded")!.response.body)
        #expect(openAISecond.head.status == .ok)
        #expect(plain.head.status.code == 503, "a provider without an overloaded answer: its documented 503")
        #expect(mock.requests(withKeyContaining: "flakyoverload-one") == 2)
    }

    @Test("rate-limited answers carry retry-after: 1, added only where the documented one has none")
    func rateLimitedRetryAfter() async throws {
        let mock = try await MockProviderServer.start()
        let client = try await TestHTTPClient.connect(port: mock.port)
        let zhipu = try await client.request(.GET, Self.basePath(mock, "zhipu") + "/models", headers: Self.bearer("zk-ratelimited"))
        let anthropic = try await client.request(.GET, "/anthropic/v1/models", headers: Self.anthropic("sk-ant-api03-ratelimited"))
        await client.close()
        await mock.shutdown()

        #expect(BuiltinProviders.provider(named: "zhipu")!.answer(for: "ratelimited")!.response.header("retry-after") == nil)
        #expect(zhipu.head.status.code == 429 && zhipu.head.headers["retry-after"] == ["1"])
        #expect(anthropic.head.status.code == 429 && anthropic.head.headers["retry-after"] == ["1"])
    }

    @Test("requests are captured: method, path, query, headers in order, the body's first 64 KiB")
    func requestCapture() async throws {
        let mock = try await MockProviderServer.start()
        let client = try await TestHTTPClient.connect(port: mock.port)
        let body = #"{"model":"claude","messages":[{"role":"user","content":"capture me"}]}"#
        _ = try await client.request(.POST, "/anthropic/v1/messages?beta=true", headers: Self.anthropic("sk-ant-api03-capture-valid") + [("X-Custom-Thing", "Kept")], body: body)
        let large = String(repeating: "a", count: 70_000)
        _ = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic("sk-ant-api03-large-valid"), body: large)
        _ = try await client.request(.GET, "/nowhere/v1/models", headers: [])
        await client.close()
        await mock.shutdown()

        let requests = mock.requests
        try #require(requests.count == 3)
        let first = requests[0]
        #expect(first.method == "POST")
        #expect(first.path == "/anthropic/v1/messages")
        #expect(first.query == "beta=true")
        #expect(first.bodyText == body)
        #expect(first.header("x-api-key") == "sk-ant-api03-capture-valid")
        let names = first.headers.map(\.name)
        #expect(names.firstIndex(of: "x-api-key")! < names.firstIndex(of: "X-Custom-Thing")!, "order and spelling as sent")
        #expect(first.header("x-custom-thing") == "Kept")
        #expect(requests[1].body.count == MockRequest.bodyLimit)
        #expect(requests[1].query == nil)
        #expect(requests[2].path == "/nowhere/v1/models")
        #expect(mock.received.count == 2, "`received` still lists provider paths only")
    }

    @Test("openConnections counts open connections and returns to 0 once clients close")
    func openConnections() async throws {
        let mock = try await MockProviderServer.start()
        var clients: [TestHTTPClient] = []
        for _ in 0..<3 {
            let client = try await TestHTTPClient.connect(port: mock.port)
            _ = try await client.request(.GET, "/anthropic/v1/models", headers: Self.anthropic("sk-ant-api03-open-valid"))
            clients.append(client)
        }
        #expect(mock.openConnections == 3)
        for client in clients { await client.close() }
        // The server sees the closes on its own event loop; wait up to 5 s on a busy machine.
        for _ in 0..<100 where mock.openConnections > 0 { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(mock.openConnections == 0)
        #expect(mock.connections == 3)
        await mock.shutdown()
    }

    @Test("hangbody sends a 200 head and one event, then stalls; shutdown closes the connection")
    func hangBody() async throws {
        let mock = try await MockProviderServer.start()
        let client = try await TestHTTPClient.connect(port: mock.port)
        client.send(.POST, "/anthropic/v1/messages", headers: Self.anthropic("sk-ant-api03-hangbody"), body: Self.anthropicStreamBody)
        var seen = await client.progress()
        for _ in 0..<100 where seen.body.isEmpty { try await Task.sleep(nanoseconds: 20_000_000); seen = await client.progress() }
        try await Task.sleep(nanoseconds: 300_000_000)
        seen = await client.progress()
        #expect(seen.head?.status == .ok)
        #expect(seen.head?.headers.first(name: "content-type") == "text/event-stream")
        #expect(seen.body == Array(MockProviderServer.expectedStream(provider: "anthropic").prefix(seen.body.count)))
        #expect(Self.events(seen.body).count == 1)
        #expect(!seen.ended)
        #expect(mock.openConnections == 1)
        await mock.shutdown()
        for _ in 0..<100 where client.channel.isActive { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(!client.channel.isActive, "shutdown closes connections left open")
        await client.close()
    }

    @Test("gzip: a gzip-encoded body with content-encoding: gzip, whole or streamed")
    func gzip() async throws {
        let mock = try await MockProviderServer.start()
        let client = try await TestHTTPClient.connect(port: mock.port)
        let whole = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic("sk-ant-api03-gzip-valid"), body: "{}")
        let stream = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic("sk-ant-api03-gzip-valid"), body: Self.anthropicStreamBody)
        let plain = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic("sk-ant-api03-plain-valid") + [("accept-encoding", "gzip")], body: "{}")
        await client.close()
        await mock.shutdown()

        let message = MockProviderServer.expectedMessage(provider: "anthropic")
        #expect(whole.head.headers.first(name: "content-encoding") == "gzip")
        #expect(Array(whole.body.prefix(3)) == [0x1f, 0x8b, 8])
        // Stored deflate blocks: a 10-byte header, a 5-byte block header, the data, CRC-32 and length.
        #expect(Array(whole.body[15..<(15 + message.count)]) == message)
        #expect(whole.body.count == message.count + 23)
        #expect(stream.head.headers.first(name: "content-encoding") == "gzip")
        #expect(stream.body == MockProviderServer.expectedGzipStream(provider: "anthropic"))
        #expect(stream.parts.count >= 2)
        #expect(plain.head.headers.first(name: "content-encoding") == nil && plain.body == message, "accept-encoding alone changes nothing")
    }

    @Test("the bench server answers any key with the fixed message and stream, and probes with the valid answer")
    func benchServer() async throws {
        let bench = try await MockBenchServer.start()
        let client = try await TestHTTPClient.connect(port: bench.port)
        let message = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic("anything"), body: "{}")
        let stream = try await client.request(.POST, "/anthropic/v1/messages", headers: Self.anthropic("anything"), body: Self.anthropicStreamBody)
        let probe = try await client.request(.GET, "/anthropic/v1/models", headers: Self.anthropic("anything"))
        let unknown = try await client.request(.GET, "/nowhere", headers: [])
        await client.close()
        await bench.shutdown()

        #expect(message.head.status == .ok && message.body == MockProviderServer.expectedMessage(provider: "anthropic"))
        #expect((500...800).contains(message.body.count), "about 600 bytes: \(message.body.count)")
        #expect(stream.body == MockProviderServer.expectedStream(provider: "anthropic"))
        #expect(stream.head.headers.first(name: "transfer-encoding") == "chunked")
        #expect(probe.head.status == .ok)
        #expect(unknown.head.status == .notFound)
    }
}

/// What a client saw of one answer.
struct ReceivedAnswer: Sendable {
    var head: HTTPResponseHead
    var body: [UInt8]
    /// When each body part arrived, and its size.
    var parts: [(at: NIODeadline, count: Int)]
    var ended: NIODeadline
}

/// A keep-alive HTTP/1.1 client on one connection, one request at a time,
/// that notes when each body part arrives.
final class TestHTTPClient: Sendable {
    let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(port: Int) async throws -> TestHTTPClient {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return TestHTTPClient(channel: channel, collector: collector)
    }

    /// Sends a request and waits for the whole answer.
    func request(_ method: HTTPMethod, _ path: String, headers: [(String, String)], body: String = "") async throws -> ReceivedAnswer {
        try await send(method, path, headers: headers, body: body).get()
    }

    /// Sends a request; the answer when it ends.
    @discardableResult
    func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)], body: String = "") -> EventLoopFuture<ReceivedAnswer> {
        let promise = channel.eventLoop.makePromise(of: ReceivedAnswer.self)
        var fields = HTTPHeaders([("host", "127.0.0.1")] + headers)
        if method == .POST || !body.isEmpty { fields.add(name: "content-length", value: String(body.utf8.count)) }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: fields)
        let (channel, collector) = (self.channel, self.collector)
        channel.eventLoop.execute {
            collector.start(promise)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        return promise.futureResult
    }

    /// What has arrived of the current answer so far.
    func progress() async -> (head: HTTPResponseHead?, body: [UInt8], ended: Bool) {
        let collector = self.collector
        return (try? await channel.eventLoop.submit { collector.progress }.get()) ?? (nil, [], false)
    }

    func close() async { try? await channel.close() }

    /// Touched only on the channel's event loop.
    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart

        private var promise: EventLoopPromise<ReceivedAnswer>?
        private var head: HTTPResponseHead?
        private var body: [UInt8] = []
        private var parts: [(at: NIODeadline, count: Int)] = []
        private var ended = false

        var progress: (head: HTTPResponseHead?, body: [UInt8], ended: Bool) { (head, body, ended) }

        func start(_ promise: EventLoopPromise<ReceivedAnswer>) {
            self.promise = promise
            head = nil
            body = []
            parts = []
            ended = false
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
            case .body(let buffer):
                body += buffer.readableBytesView
                parts.append((.now(), buffer.readableBytes))
            case .end:
                ended = true
                guard let head, let promise else { return }
                self.promise = nil
                promise.succeed(ReceivedAnswer(head: head, body: body, parts: parts, ended: .now()))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise?.fail(ChannelError.eof)
            promise = nil
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise?.fail(error)
            promise = nil
            context.close(promise: nil)
        }
    }
}

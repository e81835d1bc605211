import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KeywardenCore
import KeywardenMockProvider
@testable import KeywardenServer
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// The gateway's event-loop fast path (``FastForwarding``) and its own
/// upstream connections (``UpstreamConnections``): what only they do. Every
/// other gateway test runs through them too, from a token's second request on.
@Suite struct GatewayFastPathTests {
    @Test func aTokenNotYetCheckedTakesTheSlowPathThenTheFastPathReusesItsConnection() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        // The first request fills the token and pool caches (AsyncHTTPClient opens a connection).
        #expect(try await gw.messages(token: token).status == 200)
        let afterSlow = gw.mock.connections
        #expect(gw.metrics.contains("outcome=\"ok\"} 1"))
        // The next ones take the fast path: one connection of its own, kept alive and reused.
        for _ in 0..<5 { #expect(try await gw.messages(token: token).status == 200) }
        #expect(gw.mock.connections == afterSlow + 1)
        #expect(gw.metrics.contains("keywarden_gateway_requests_total{provider=\"anthropic\",scope=\"prod\",key=") && gw.metrics.contains("outcome=\"ok\"} 6"))
        let seen = try #require(gw.mock.requests.last)
        #expect(seen.header("x-api-key") == TestKeys.anthropic)
        #expect(seen.header("anthropic-version") == "2023-06-01")
        #expect(!seen.headers.contains { $0.value.contains("kwt_") })
        #expect(seen.bodyText.contains("claude-sonnet-4-5"))
    }

    @Test func aReusedConnectionTheServerClosedIsResentOnANewOne() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        // Answers one request per connection and closes on the next without a word, as a
        // server whose keep-alive timer ran out just as the request arrived.
        let upstream = try await OneRequestPerConnectionServer.start()
        defer { Task { await upstream.shutdown() } }
        _ = try gw.vault.updateProvider("openai", baseURL: "http://127.0.0.1:\(upstream.port)/v1", env: nil)
        let token = try gw.token("app", providers: ["openai"])
        for _ in 0..<4 {
            let answer = try await gw.send(.POST, "/openai/v1/chat/completions", headers: [("authorization", "Bearer \(token)")], body: #"{"model":"m"}"#)
            #expect(answer.status == 200)
            #expect(answer.text == OneRequestPerConnectionServer.body)
        }
        // Each fast request after the first found the idle connection closed and was sent again:
        // no attempt counted twice, nothing retried.
        #expect(upstream.answered == 4)
        #expect(upstream.dropped >= 2)
        #expect(gw.metrics.contains("outcome=\"ok\"} 4"))
        #expect(!gw.metrics.contains("keywarden_gateway_retries_total{provider=\"openai\""))
        #expect(!gw.metrics.contains("connect_error"))
    }

    @Test func aSlowReaderHoldsTheUpstreamBackAndGetsEveryByte() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let upstream = try await LargeBodyServer.start(bytes: 64 << 20)
        defer { Task { await upstream.shutdown() } }
        _ = try gw.vault.updateProvider("openai", baseURL: "http://127.0.0.1:\(upstream.port)/v1", env: nil)
        let token = try gw.token("app", providers: ["openai"])
        // The first request takes the slow path (and fills the caches); read it whole.
        var first = HTTPClientRequest(url: gw.origin + "/openai/v1/files/big")
        first.headers.add(name: "authorization", value: "Bearer \(token)")
        let whole = try await gw.client.execute(first, timeout: .seconds(60)).body.collect(upTo: 65 << 20)
        #expect(whole.readableBytes == 64 << 20)
        // The second takes the fast path. Read 1 MiB, then stop reading for a while.
        var request = HTTPClientRequest(url: gw.origin + "/openai/v1/files/big")
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        let response = try await gw.client.execute(request, timeout: .seconds(60))
        #expect(response.status == .ok)
        var iterator = response.body.makeAsyncIterator()
        var received = 0
        var mismatch = false
        func check(_ chunk: ByteBuffer) {
            var chunk = chunk
            while chunk.readableBytes > 0 {
                let piece = chunk.readSlice(length: min(chunk.readableBytes, 1 << 20))!
                if !LargeBodyServer.matches(piece, at: received) { mismatch = true }
                received += piece.readableBytes
            }
        }
        while received < 1 << 20, let chunk = try await iterator.next() { check(chunk) }
        try await Task.sleep(nanoseconds: 1_000_000_000)
        // Without backpressure the gateway would have read all 64 MiB into memory by now; with
        // it, the provider has written no more than the sockets' buffers hold.
        let writtenWhilePaused = upstream.written
        #expect(writtenWhilePaused < 40 << 20, "the provider wrote \(writtenWhilePaused) bytes while the client read \(received)")
        while let chunk = try await iterator.next() { check(chunk) }
        #expect(received == 64 << 20)
        #expect(!mismatch)
    }

    @Test func aClientThatLeavesMidStreamClosesTheUpstreamConnection() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        gw.mock.streamDelay = .milliseconds(100)
        let token = try gw.token("app")
        #expect(try await gw.messages(token: token).status == 200)
        let before = gw.mock.openConnections
        // A stream of 20 events 100 ms apart; the client reads the head and leaves.
        let body = #"{"model":"m","stream":true}"#
        let fd = try rawTCPConnect(port: gw.port)
        try rawTCPSend(fd, "POST /anthropic/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)")
        // Blocking socket calls stay off the cooperative pool, which the gateway's slow path needs.
        let head = try await NIOThreadPool.singleton.runIfActive { rawTCPReceive(fd) }
        #expect(head.hasPrefix("HTTP/1.1 200"))
        #expect(try await eventually { gw.mock.openConnections == before + 1 })
        close(fd)
        #expect(try await eventually { gw.mock.openConnections == before })
        #expect(try await eventually { gw.metrics.contains("outcome=\"cancelled\"} 1") })
        #expect(try await eventually { gw.metrics.contains("keywarden_gateway_in_flight{provider=\"anthropic\",scope=\"prod\",key=\"\(gw.fixture.anthropicKeyID)\"} 0") })
    }

    @Test func pipelinedRequestsAreAnsweredInOrderAcrossBothPaths() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        #expect(try await gw.messages(token: token).status == 200)
        let body = #"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[]}"#
        let fast = "POST /anthropic/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
        // Refused by the slow path (an unknown provider), and a chunked body (the slow path streams it).
        let refused = "GET /nosuch/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\n\r\n"
        let chunked = "POST /anthropic/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\ntransfer-encoding: chunked\r\n\r\n"
            + String(body.utf8.count, radix: 16) + "\r\n\(body)\r\n0\r\n\r\n"
        let fd = try rawTCPConnect(port: gw.port)
        defer { close(fd) }
        try rawTCPSend(fd, fast + refused + fast + chunked + fast)
        // Blocking socket calls stay off the cooperative pool, which the gateway's slow path needs.
        let statuses = try await NIOThreadPool.singleton.runIfActive { try rawTCPReadAnswers(fd, count: 5).map(\.status) }
        #expect(statuses == [200, 404, 200, 200, 200])
    }
}

extension AgentFixture {
    /// The id of the fixture's active anthropic key in prod.
    var anthropicKeyID: String {
        (try? vault.listKeys(KeyFilter(provider: "anthropic", scope: "prod")).first { $0.state == .active }?.id) ?? ""
    }
}

func rawTCPConnect(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard connected == 0 else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}

func rawTCPSend(_ fd: Int32, _ text: String) throws {
    let bytes = Array(text.utf8)
    let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    guard sent == bytes.count else { throw POSIXError(.EIO) }
}

/// What one `recv` returns, as text.
func rawTCPReceive(_ fd: Int32) -> String {
    var buffer = [UInt8](repeating: 0, count: 65536)
    let count = recv(fd, &buffer, buffer.count, 0)
    return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
}

/// Reads `count` answers with a `content-length` (or chunked) from `fd`.
func rawTCPReadAnswers(_ fd: Int32, count: Int) throws -> [(status: Int, body: [UInt8])] {
    var bytes: [UInt8] = []
    var answers: [(status: Int, body: [UInt8])] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    func more() throws {
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { throw POSIXError(.ECONNRESET) }
        bytes += chunk.prefix(n)
    }
    let separator: [UInt8] = Array("\r\n\r\n".utf8)
    while answers.count < count {
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else {
            try more()
            continue
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        let fields = lines.dropFirst().map { $0.lowercased() }
        var rest = Array(bytes[(end + 4)...])
        if let lengthLine = fields.first(where: { $0.hasPrefix("content-length:") }),
           let length = Int(lengthLine.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) {
            while rest.count < length {
                try more()
                rest = Array(bytes[(end + 4)...])
            }
            answers.append((status, Array(rest.prefix(length))))
            bytes = Array(rest.dropFirst(length))
        } else {
            // Chunked: read to the last chunk.
            let last: [UInt8] = Array("0\r\n\r\n".utf8)
            while !rest.indices.contains(where: { rest[$0...].starts(with: last) }) {
                try more()
                rest = Array(bytes[(end + 4)...])
            }
            let stop = rest.indices.first { rest[$0...].starts(with: last) }! + last.count
            answers.append((status, Array(rest.prefix(stop))))
            bytes = Array(rest.dropFirst(stop))
        }
    }
    return answers
}

/// An HTTP/1.1 server on 127.0.0.1 (a port the system picks) whose connections end in `handler()`.
func startHTTPServer(_ handler: @escaping @Sendable () -> any ChannelHandler) async throws -> any Channel {
    try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                try channel.pipeline.syncOperations.addHandler(handler())
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
}

/// An HTTP/1.1 server that answers the first request of each connection
/// (keep-alive) and closes the connection when a second one arrives.
final class OneRequestPerConnectionServer: @unchecked Sendable {
    static let body = #"{"id":"one","object":"chat.completion"}"#
    let port: Int
    private let channel: any Channel
    private let counts: NIOLockedValueBox<(answered: Int, dropped: Int)>

    var answered: Int { counts.withLockedValue { $0.answered } }
    var dropped: Int { counts.withLockedValue { $0.dropped } }

    private init(port: Int, channel: any Channel, counts: NIOLockedValueBox<(answered: Int, dropped: Int)>) {
        self.port = port
        self.channel = channel
        self.counts = counts
    }

    static func start() async throws -> OneRequestPerConnectionServer {
        let counts = NIOLockedValueBox((answered: 0, dropped: 0))
        let channel = try await startHTTPServer { Handler(counts: counts) }
        return OneRequestPerConnectionServer(port: channel.localAddress?.port ?? 0, channel: channel, counts: counts)
    }

    func shutdown() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let counts: NIOLockedValueBox<(answered: Int, dropped: Int)>
        var requests = 0

        init(counts: NIOLockedValueBox<(answered: Int, dropped: Int)>) { self.counts = counts }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head:
                requests += 1
                if requests > 1 {
                    counts.withLockedValue { $0.dropped += 1 }
                    context.close(promise: nil)
                }
            case .body:
                break
            case .end:
                guard requests == 1 else { return }
                counts.withLockedValue { $0.answered += 1 }
                let body = ByteBuffer(string: OneRequestPerConnectionServer.body)
                let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-type": "application/json", "content-length": "\(body.readableBytes)"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

/// An HTTP/1.1 server that answers every request with `bytes` bytes of a
/// known pattern, written only as fast as its connection takes them.
final class LargeBodyServer: @unchecked Sendable {
    let port: Int
    private let channel: any Channel
    private let writtenBytes: NIOLockedValueBox<Int>

    /// The bytes written (and flushed to the socket) by the answer in progress.
    var written: Int { writtenBytes.withLockedValue { $0 } }

    /// The answer's bytes repeat every 251: byte `i` is `i % 251`.
    static let pattern: [UInt8] = (0..<((1 << 20) + 251)).map { UInt8($0 % 251) }

    /// Whether `piece` (at most 1 MiB) is the answer's bytes from `offset`.
    static func matches(_ piece: ByteBuffer, at offset: Int) -> Bool {
        piece.withUnsafeReadableBytes { bytes in
            pattern.withUnsafeBytes { expected in
                memcmp(bytes.baseAddress!, expected.baseAddress! + offset % 251, bytes.count) == 0
            }
        }
    }

    private init(port: Int, channel: any Channel, written: NIOLockedValueBox<Int>) {
        self.port = port
        self.channel = channel
        writtenBytes = written
    }

    static func start(bytes: Int) async throws -> LargeBodyServer {
        let written = NIOLockedValueBox(0)
        let channel = try await startHTTPServer { Handler(total: bytes, written: written) }
        return LargeBodyServer(port: channel.localAddress?.port ?? 0, channel: channel, written: written)
    }

    func shutdown() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let total: Int
        let written: NIOLockedValueBox<Int>
        var sent = 0
        var sending = false

        init(total: Int, written: NIOLockedValueBox<Int>) {
            self.total = total
            self.written = written
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            sent = 0
            sending = true
            written.withLockedValue { $0 = 0 }
            let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-type": "application/octet-stream", "content-length": "\(total)"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            pump(context: context)
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if context.channel.isWritable { pump(context: context) }
        }

        private func pump(context: ChannelHandlerContext) {
            while sending, context.channel.isWritable {
                let size = min(64 * 1024, total - sent)
                var buffer = context.channel.allocator.buffer(capacity: size)
                buffer.writeBytes(LargeBodyServer.pattern[(sent % 251)..<(sent % 251 + size)])
                sent += size
                let count = size
                let written = written
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer)))).whenSuccess { written.withLockedValue { $0 += count } }
                if sent == total {
                    sending = false
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }
}

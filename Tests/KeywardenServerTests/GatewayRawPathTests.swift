import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KeywardenCore
import KeywardenMockProvider
@testable import KeywardenServer
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// The gateway's raw fast path (``RawForwarding``): requests taken straight
/// from a connection's bytes, answers written back as the provider framed
/// them. A connection's first request always goes through the HTTP decoder
/// (and fills the token and pool caches); so every test sends one first on a
/// raw TCP connection, then the requests under test on the same connection,
/// which take the raw path.
@Suite struct GatewayRawPathTests {
    // MARK: What the client gets

    // A streamed answer must reach the client byte for byte: chunk extensions and trailers included, one framing field, the gateway's Server.
    @Test func aChunkedAnswerReachesTheClientAsTheProviderFramedIt() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let wire = "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nx-checksum: 42\r\n\r\n"
        let (upstream, token, connection) = try await Self.scripted(gw, [
            .json(#"{"first":true}"#),
            .init("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nServer: scripted-upstream\r\nTransfer-Encoding: chunked\r\n\r\n" + wire),
        ])
        defer {
            connection.disconnect()
            Task { await upstream.shutdown() }
        }

        let answer = try await connection.exchange(Self.chat(token))
        #expect(answer.status == 200)
        #expect(answer.body == Array(wire.utf8), "\(answer.text)")
        // Written by the raw path itself (the decoded path's encoder spells it in lowercase).
        #expect(answer.head.fields.contains(RawHeaderField(name: "Transfer-Encoding", value: "chunked")))
        #expect(answer.head.values("transfer-encoding") == ["chunked"])
        #expect(answer.head.values("content-length").isEmpty)
        #expect(answer.head.values("server") == ["keywarden-gateway"])
        #expect(answer.head.values("content-type") == ["text/event-stream"])
        #expect(upstream.requests.count == 2)
    }

    // An answer without a length only ends when the provider closes: passed on chunked, the client still sees where it ends (and a break as one), and keeps its connection.
    @Test func anAnswerWithoutALengthIsPassedOnChunkedAndTheConnectionStaysOpen() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let (upstream, token, connection) = try await Self.scripted(gw, [
            .json(#"{"first":true}"#),
            .init("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nevery byte until the close", thenClose: true),
            .json(#"{"after":true}"#),
        ])
        defer {
            connection.disconnect()
            Task { await upstream.shutdown() }
        }

        let answer = try await connection.exchange(Self.chat(token))
        #expect(answer.status == 200)
        #expect(answer.head.values("connection").isEmpty)
        #expect(answer.head.values("content-length").isEmpty)
        #expect(answer.head.values("transfer-encoding") == ["chunked"])
        #expect(RawAnswer.dechunked(answer.body).map { String(decoding: $0, as: UTF8.self) } == "every byte until the close")
        #expect(!answer.endedByClose)
        // The client's connection carries the next request.
        let next = try await connection.exchange(Self.chat(token))
        #expect(next.status == 200)
        #expect(next.text == #"{"after":true}"#)
    }

    // An interim 100 head is the provider's business: passing it on would give the client two answers for one request.
    @Test func anInterimContinueHeadIsNotPassedOn() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let (upstream, token, connection) = try await Self.scripted(gw, [
            .json(#"{"first":true}"#),
            .init("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"after\":1}"),
        ])
        defer {
            connection.disconnect()
            Task { await upstream.shutdown() }
        }

        let answer = try await connection.exchange(Self.chat(token))
        #expect(answer.status == 200)
        #expect(answer.head.statusLine == "HTTP/1.1 200 OK")
        #expect(answer.text == #"{"after":1}"#)
        let more = try await connection.hasMoreBytes(waitingMilliseconds: 200)
        #expect(!more, "bytes followed the answer")
    }

    // A head two readers could split differently (bare LF) must never be passed on, not even in part: the client gets the gateway's 502.
    @Test func anAnswerWithABareLFInItsHeadIsA502AndNoneOfItReachesTheClient() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let (upstream, token, connection) = try await Self.scripted(gw, [
            .json(#"{"first":true}"#),
            .init("HTTP/1.1 200 OK\r\nx-a: 1\nx-b: 2\r\nContent-Length: 2\r\n\r\nok"),
        ])
        defer {
            connection.disconnect()
            Task { await upstream.shutdown() }
        }

        let answer = try await connection.exchange(Self.chat(token))
        #expect(answer.status == 502)
        #expect(answer.text.contains("not valid HTTP/1.1"), "\(answer.text)")
        #expect(!answer.head.text.lowercased().contains("x-b"))
        #expect(!answer.text.lowercased().contains("x-b"))
        #expect(answer.head.values("x-a").isEmpty)
        // A broken answer is not retried.
        #expect(upstream.requests.count == 2)
    }

    // Bytes after an answer mean the connection no longer speaks HTTP/1.1 as agreed: the next request must not be sent on it.
    @Test func bytesAfterAnAnswerKeepItsConnectionFromBeingReused() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let (upstream, token, connection) = try await Self.scripted(gw, [
            .json(#"{"first":true}"#),
            .init("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nokJUNK"),
        ])
        defer {
            connection.disconnect()
            Task { await upstream.shutdown() }
        }

        let second = try await connection.exchange(Self.chat(token))
        #expect(second.status == 200)
        #expect(second.text == "ok")
        let connectionsBefore = upstream.connections
        let third = try await connection.exchange(Self.chat(token))
        #expect(third.status == 200)
        #expect(third.text == "ok")
        #expect(upstream.connections == connectionsBefore + 1)
        #expect(upstream.requests.count == 3)
        // The extra bytes went nowhere.
        let more = try await connection.hasMoreBytes(waitingMilliseconds: 200)
        #expect(!more, "bytes followed the answer")
    }

    // MARK: What the provider gets

    // The raw path copies the client's lines: it must still drop the client's token and hop fields, and add the key and its own Host.
    @Test func theProviderGetsTheClientsLinesAsSentWithTheKeyInPlaceOfTheToken() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let upstream = try await ScriptedAnswerServer.start([.json(#"{"id":"chatcmpl-1"}"#)])
        defer { Task { await upstream.shutdown() } }
        let token = try Self.pointOpenAI(gw, at: upstream)
        let (connection, first) = try await RawClientConnection.open(port: gw.port, first: Self.chat(token))
        defer { connection.disconnect() }
        #expect(first.status == 200)

        let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"héllo \"quoted\" \\n ✓"}]}"#
        let fields = "X-Custom-Case: Value\r\nX-Spacing:   kept as sent\r\nanthropic-version: 2023-06-01\r\n"
            + "OpenAI-Organization: org-keywarden\r\nx-keywarden-scope: prod\r\n"
        let answer = try await connection.exchange(Self.chat(token, body: body, fields: fields))
        #expect(answer.status == 200)
        #expect(upstream.requests.count == 2)
        let seen = try #require(upstream.requests.last)
        let headEnd = try #require(rawIndex(of: Array("\r\n\r\n".utf8), in: seen))
        let lines = rawLines(Array(seen[..<headEnd]))
        let requestBody = Array(seen[(headEnd + 4)...])
        func values(_ name: String) -> [String] {
            lines.dropFirst().compactMap { (line: String) -> String? in
                guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name else { return nil }
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }

        let requestLine = try #require(lines.first)
        #expect(requestLine.hasPrefix("POST ") && requestLine.hasSuffix("/chat/completions HTTP/1.1"), "\(requestLine)")
        // The client's own lines, case and all.
        #expect(lines.contains("X-Custom-Case: Value"))
        #expect(lines.contains("anthropic-version: 2023-06-01"))
        #expect(lines.contains("OpenAI-Organization: org-keywarden"))
        #expect(lines.contains("Content-Type: application/json"))
        // Copied as sent, blanks included: only the raw path does (the decoder trims them), so this request took it.
        #expect(lines.contains("X-Spacing:   kept as sent"))
        // Not the client's token, nor Keywarden's own fields, nor the client's Host.
        let text = String(decoding: seen, as: UTF8.self)
        #expect(!text.contains("kwt_") && !text.contains(token))
        #expect(!lines.contains { $0.lowercased().hasPrefix("x-keywarden-") })
        #expect(values("x-api-key").isEmpty)
        #expect(values("authorization") == ["Bearer \(TestKeys.openai)"])
        #expect(values("host") == ["127.0.0.1:\(upstream.port)"])
        #expect(values("content-length") == [String(body.utf8.count)])
        #expect(values("transfer-encoding").isEmpty)
        #expect(requestBody == Array(body.utf8))
    }

    // MARK: Pipelining, smuggling, shutdown

    // Requests pipelined behind a raw one go to whichever path takes them (raw, slow, decoder): the answers must still come back in order.
    @Test func pipelinedRequestsAfterARawOneAreAnsweredInOrderWhicheverPathTakesThem() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        let (connection, first) = try await RawClientConnection.open(port: gw.port, first: Self.messages(token))
        defer { connection.disconnect() }
        #expect(first.status == 200)
        let before = gw.mock.requests.count

        let fast = Self.messages(token)
        // Refused by the slow path (an unknown provider).
        let refused = "GET /nosuch/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\n\r\n"
        // Over the collected-body limit (256 KiB): the decoder reads it, streamed to the slow path; raw scanning resumes after it.
        let large = Self.messages(token, body: "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,\"messages\":[],\"padding\":\""
            + String(repeating: "x", count: 300 * 1024) + "\"}")
        // A chunked body: the scan is unsure, the decoder reads the rest of the connection.
        let chunkBody = #"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[]}"#
        let chunked = "POST /anthropic/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\ntransfer-encoding: chunked\r\n\r\n"
            + String(chunkBody.utf8.count, radix: 16) + "\r\n" + chunkBody + "\r\n0\r\n\r\n"
        try await connection.write(fast + refused + fast + large + fast + chunked + fast)
        let answers = try await connection.nextAnswers(7)

        #expect(answers.map(\.status) == [200, 404, 200, 200, 200, 200, 200])
        for (index, answer) in answers.enumerated() where answer.status == 200 {
            #expect(answer.body == MockProviderServer.expectedMessage(provider: "anthropic"), "answer \(index): \(answer.text)")
        }
        #expect(answers[1].text.contains("\"error\""), "\(answers[1].text)")
        // Every request but the refused one reached the provider, the large body too (the mock keeps its first 64 KiB).
        #expect(gw.mock.requests.count == before + 6)
        #expect(gw.mock.requests.contains { $0.body.count == MockRequest.bodyLimit })
    }

    // Both a length and chunked is the classic smuggling shape: whoever reads it, no second request may come out of its body.
    @Test func aRequestWithBothALengthAndChunkedSmugglesNothingUpstream() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        let (connection, first) = try await RawClientConnection.open(port: gw.port, first: Self.messages(token))
        defer { connection.disconnect() }
        #expect(first.status == 200)
        let before = gw.mock.requests.count

        // Read by its length, the body is all of it; read as chunked, the body ends at `0` and a GET follows.
        let smuggled = "GET /anthropic/v1/models?smuggled=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\n\r\n"
        let body = "0\r\n\r\n" + smuggled
        try await connection.write("POST /anthropic/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        let drained = try await connection.drain(quietMilliseconds: 1000)
        let received = String(decoding: drained, as: UTF8.self)

        // Refused (4xx), or the connection closed without an answer.
        #expect(received.isEmpty || received.hasPrefix("HTTP/1.1 4"), "\(received.prefix(300))")
        #expect(!received.contains("HTTP/1.1 2"), "\(received.prefix(300))")
        #expect(gw.mock.requests.count == before)
        #expect(!gw.mock.requests.contains { $0.query?.contains("smuggled") == true })
    }

    // TRACE would echo the request the provider got, key included, back to the client; CONNECT asks for a tunnel. Neither is forwarded.
    @Test func traceAndConnectAreRefusedNotForwarded() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        for method in ["TRACE", "CONNECT"] {
            let (connection, first) = try await RawClientConnection.open(port: gw.port, first: Self.messages(token))
            defer { connection.disconnect() }
            #expect(first.status == 200)
            let before = gw.mock.requests.count
            try await connection.write("\(method) /anthropic/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\n\r\n")
            let received = String(decoding: try await connection.drain(quietMilliseconds: 1000), as: UTF8.self)
            #expect(received.hasPrefix("HTTP/1.1 405"), "\(method): \(received.prefix(300))")
            #expect(!received.contains(TestKeys.anthropic))
            #expect(gw.mock.requests.count == before, "\(method)")
        }
    }

    // The decoder refuses a method it does not know and closes: a request pipelined behind it must not be forwarded (with a key) ahead of that refusal.
    @Test func aRequestTheDecoderRefusesStopsTheRequestsBehindIt() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        for method in ["FOO", "get"] {
            let (connection, first) = try await RawClientConnection.open(port: gw.port, first: Self.messages(token))
            defer { connection.disconnect() }
            #expect(first.status == 200)
            let before = gw.mock.requests.count
            try await connection.write("\(method) /anthropic/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\nContent-Length: 2\r\n\r\n{}"
                + Self.messages(token))
            let received = String(decoding: try await connection.drain(quietMilliseconds: 1000), as: UTF8.self)
            #expect(received.isEmpty || received.hasPrefix("HTTP/1.1 4"), "\(method): \(received.prefix(300))")
            #expect(!received.contains("HTTP/1.1 2"), "\(method): \(received.prefix(300))")
            #expect(gw.mock.requests.count == before, "\(method)")
        }
    }

    // Hummingbird's idle timer sees no raw answer: a stream that outlasts it (a reasoning model's, minutes long) must neither be cut
    // nor end its connection afterwards; a connection that then stays idle is still closed.
    @Test(.timeLimit(.minutes(1)))
    func aStreamLongerThanTheIdleTimeoutKeepsItsConnection() async throws {
        var settings = GatewayFixture.testSettings
        settings.connectionIdleTimeout = .seconds(1)
        let gw = try await GatewayFixture.start(settings: settings)
        defer { Task { await gw.shutdown() } }
        let token = try gw.token("app")
        let (connection, first) = try await RawClientConnection.open(port: gw.port, first: Self.messages(token))
        defer { connection.disconnect() }
        #expect(first.status == 200)

        // 20 events 100 ms apart: about 2 s, twice the idle timeout.
        gw.mock.streamDelay = .milliseconds(100)
        let stream = try await connection.exchange(Self.messages(token, body: #"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[],"stream":true}"#))
        #expect(stream.status == 200)
        #expect(RawAnswer.dechunked(stream.body) == MockProviderServer.expectedStream(provider: "anthropic"))
        #expect(!stream.endedByClose)
        let next = try await connection.exchange(Self.messages(token))
        #expect(next.status == 200)
        let idleSince = Date()
        #expect(try await connection.closedByPeer())
        #expect(Date().timeIntervalSince(idleSince) < 5)
    }

    // Hummingbird sees no request in progress on the raw path: its graceful shutdown must still wait for the stream, then close the connection.
    @Test(.timeLimit(.minutes(1)))
    func aGracefulShutdownLetsARawStreamFinishThenClosesTheConnection() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        // 20 events 100 ms apart: about 2 s.
        gw.mock.streamDelay = .milliseconds(100)
        let token = try gw.token("app")
        let (connection, first) = try await RawClientConnection.open(port: gw.port, first: Self.messages(token))
        defer { connection.disconnect() }
        #expect(first.status == 200)

        try await connection.write(Self.messages(token, body: #"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[],"stream":true}"#))
        let head = try await connection.nextHead()
        #expect(head.status == 200)
        #expect(head.values("transfer-encoding") == ["chunked"])
        let shutdownStarted = Date()
        let shutdown = Task { await gw.shutdown() }
        let stream = try await connection.rest(of: head)
        let streamEnded = Date()
        let closed = try await connection.closedByPeer()
        await shutdown.value

        #expect(Array(stream.body.suffix(5)) == Array("0\r\n\r\n".utf8))
        #expect(RawAnswer.dechunked(stream.body) == MockProviderServer.expectedStream(provider: "anthropic"))
        #expect(streamEnded.timeIntervalSince(shutdownStarted) > 0.5, "the stream ended before the shutdown could wait for it")
        #expect(closed, "the connection stayed open after the stream")
    }

    // MARK: Helpers

    /// A scripted upstream for openai answering `answers` in turn, a token
    /// for it, and a raw connection to the gateway whose first request (read
    /// by the decoder, filling the caches) got the first answer.
    private static func scripted(_ gw: GatewayFixture, _ answers: [ScriptedAnswerServer.Answer]) async throws
        -> (upstream: ScriptedAnswerServer, token: String, connection: RawClientConnection) {
        let upstream = try await ScriptedAnswerServer.start(answers)
        let token = try pointOpenAI(gw, at: upstream)
        let (connection, first) = try await RawClientConnection.open(port: gw.port, first: chat(token))
        #expect(first.status == 200)
        return (upstream, token, connection)
    }

    /// Points openai at `upstream`; a token for it.
    private static func pointOpenAI(_ gw: GatewayFixture, at upstream: ScriptedAnswerServer) throws -> String {
        _ = try gw.vault.updateProvider("openai", baseURL: "http://127.0.0.1:\(upstream.port)/v1", env: nil)
        return try gw.token("app", providers: ["openai"])
    }

    /// An OpenAI chat request with `token` as its bearer; `fields`: more header lines, each ending in CRLF.
    private static func chat(_ token: String, body: String = #"{"model":"m","messages":[]}"#, fields: String = "") -> String {
        "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\(fields)"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// An Anthropic Messages request with `token` where the SDK sends its key.
    private static func messages(_ token: String, body: String = #"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#) -> String {
        "POST /anthropic/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: \(token)\r\nanthropic-version: 2023-06-01\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }
}

// MARK: - A raw client connection

/// One header field of an answer: the name as sent, the value without surrounding blanks.
struct RawHeaderField: Sendable, Equatable {
    var name: String
    var value: String
}

/// An answer's head as it came over the wire.
struct RawHead: Sendable {
    var statusLine: String
    var status: Int
    var fields: [RawHeaderField]
    /// The head's bytes as text, without its final empty line.
    var text: String

    init(_ bytes: [UInt8]) throws {
        let lines = rawLines(bytes)
        let statusLine = lines.first ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw RawConnectionError.malformed(statusLine) }
        self.statusLine = statusLine
        self.status = status
        fields = lines.dropFirst().map { (line: String) -> RawHeaderField in
            guard let colon = line.firstIndex(of: ":") else { return RawHeaderField(name: line, value: "") }
            return RawHeaderField(name: String(line[..<colon]), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        text = String(decoding: bytes, as: UTF8.self)
    }

    /// The values of the fields named `name` (any case), in order.
    func values(_ name: String) -> [String] {
        fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }
}

/// A whole answer: its head and its body as on the wire (chunk framing and trailers included).
struct RawAnswer: Sendable {
    var head: RawHead
    var body: [UInt8]
    /// The body had no length: it was read to the end of the connection.
    var endedByClose: Bool

    var status: Int { head.status }
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The content of a chunked body's wire bytes; nil when they are not whole chunked framing.
    static func dechunked(_ wire: [UInt8]) -> [UInt8]? {
        var data: [UInt8] = []
        var at = 0
        while let end = rawIndex(of: [13, 10], in: wire, from: at) {
            let line = String(decoding: wire[at..<end], as: UTF8.self)
            let sizeText = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingCharacters(in: .whitespaces)
            guard let size = Int(sizeText, radix: 16) else { return nil }
            at = end + 2
            if size == 0 { return data }
            guard at + size + 2 <= wire.count else { return nil }
            data += wire[at..<(at + size)]
            at += size + 2
        }
        return nil
    }
}

enum RawConnectionError: Error {
    case closed(received: String)
    case failed(errno: Int32)
    case malformed(String)
}

/// A TCP connection to the gateway that reads answers as bytes. Its
/// blocking socket calls run on `NIOThreadPool.singleton`, never on the
/// cooperative pool (which the gateway's slow path needs); calls follow one
/// another (each awaited), so its state needs no lock.
final class RawClientConnection: @unchecked Sendable {
    let fd: Int32
    /// Bytes read and not yet taken by an answer.
    private var buffer: [UInt8] = []
    private(set) var sawEOF = false
    private var disconnected = false

    private init(fd: Int32) { self.fd = fd }

    deinit { disconnect() }

    /// Connects to 127.0.0.1:`port`, sends `request` — the connection's
    /// first, which goes through the HTTP decoder (and fills the gateway's
    /// token and pool caches) — and reads its answer: requests sent next on
    /// the connection (within 10 s) may take the raw path.
    static func open(port: Int, first request: String) async throws -> (connection: RawClientConnection, first: RawAnswer) {
        let connection = try await NIOThreadPool.singleton.runIfActive { () throws -> RawClientConnection in
            let fd = try rawTCPConnect(port: port)
            return RawClientConnection(fd: fd)
        }
        do {
            let first = try await connection.exchange(request)
            return (connection, first)
        } catch {
            connection.disconnect()
            throw error
        }
    }

    func disconnect() {
        guard !disconnected else { return }
        disconnected = true
        close(fd)
    }

    /// Sends `request` and reads one answer.
    func exchange(_ request: String) async throws -> RawAnswer {
        try await NIOThreadPool.singleton.runIfActive { () throws -> RawAnswer in
            try self.blockingWrite(Array(request.utf8))
            return try self.blockingAnswer()
        }
    }

    func write(_ text: String) async throws {
        try await NIOThreadPool.singleton.runIfActive { () throws -> Void in
            try self.blockingWrite(Array(text.utf8))
        }
    }

    func nextAnswers(_ count: Int) async throws -> [RawAnswer] {
        try await NIOThreadPool.singleton.runIfActive { () throws -> [RawAnswer] in
            try (0..<count).map { _ in try self.blockingAnswer() }
        }
    }

    func nextHead() async throws -> RawHead {
        try await NIOThreadPool.singleton.runIfActive { () throws -> RawHead in try self.blockingHead() }
    }

    /// The body of the answer whose head `nextHead()` read.
    func rest(of head: RawHead) async throws -> RawAnswer {
        try await NIOThreadPool.singleton.runIfActive { () throws -> RawAnswer in
            let (body, endedByClose) = try self.blockingBody(of: head)
            return RawAnswer(head: head, body: body, endedByClose: endedByClose)
        }
    }

    /// Whether the gateway ended the connection (no byte before its end; waits up to the socket's 10 s receive timeout).
    func closedByPeer() async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { () throws -> Bool in self.blockingClosed() }
    }

    /// Whether a byte arrives within `milliseconds` (or one was read and not taken yet).
    func hasMoreBytes(waitingMilliseconds milliseconds: Int32) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { () throws -> Bool in self.blockingHasMore(milliseconds) }
    }

    /// Everything that arrives until the connection ends or `milliseconds` pass without a byte.
    func drain(quietMilliseconds milliseconds: Int32) async throws -> [UInt8] {
        try await NIOThreadPool.singleton.runIfActive { () throws -> [UInt8] in self.blockingDrain(milliseconds) }
    }

    // MARK: Blocking

    private func blockingWrite(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw RawConnectionError.failed(errno: errno) }
            offset += sent
        }
    }

    /// Reads more bytes into `buffer`; false at the end of the connection (or a reset).
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &chunk, chunk.count, 0)
        if count > 0 {
            buffer += chunk.prefix(count)
            return true
        }
        let code = errno
        if count == 0 || code == ECONNRESET {
            sawEOF = true
            return false
        }
        throw RawConnectionError.failed(errno: code)
    }

    private func closedError() -> RawConnectionError {
        .closed(received: String(decoding: buffer.prefix(500), as: UTF8.self))
    }

    private func need(_ count: Int) throws {
        while buffer.count < count {
            guard try fill() else { throw closedError() }
        }
    }

    /// The index of the CR of the next CRLF at or after `start`.
    private func lineEnd(from start: Int) throws -> Int {
        while true {
            if let index = rawIndex(of: [13, 10], in: buffer, from: start) { return index }
            guard try fill() else { throw closedError() }
        }
    }

    private func blockingHead() throws -> RawHead {
        let separator = Array("\r\n\r\n".utf8)
        while true {
            if let end = rawIndex(of: separator, in: buffer) {
                let head = Array(buffer[..<end])
                buffer.removeFirst(end + 4)
                return try RawHead(head)
            }
            guard try fill() else { throw closedError() }
        }
    }

    /// The body as on the wire: by `Content-Length`, chunked (to the end of the trailers), or to the end of the connection.
    private func blockingBody(of head: RawHead) throws -> (body: [UInt8], endedByClose: Bool) {
        if head.status < 200 || head.status == 204 || head.status == 304 { return ([], false) }
        if head.values("transfer-encoding").last?.lowercased() == "chunked" {
            let wire = try chunkedWire()
            return (wire, false)
        }
        if let length = head.values("content-length").first.flatMap({ Int($0) }) {
            try need(length)
            let body = Array(buffer.prefix(length))
            buffer.removeFirst(length)
            return (body, false)
        }
        while try fill() {}
        let body = buffer
        buffer = []
        return (body, true)
    }

    private func chunkedWire() throws -> [UInt8] {
        var at = 0
        while true {
            let end = try lineEnd(from: at)
            let line = String(decoding: buffer[at..<end], as: UTF8.self)
            let sizeText = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingCharacters(in: .whitespaces)
            guard let size = Int(sizeText, radix: 16) else { throw RawConnectionError.malformed(line) }
            at = end + 2
            if size == 0 {
                // Trailer lines, then an empty line.
                while true {
                    let trailerEnd = try lineEnd(from: at)
                    let empty = trailerEnd == at
                    at = trailerEnd + 2
                    if empty { break }
                }
                let wire = Array(buffer[..<at])
                buffer.removeFirst(at)
                return wire
            }
            try need(at + size + 2)
            at += size + 2
        }
    }

    private func blockingAnswer() throws -> RawAnswer {
        let head = try blockingHead()
        let (body, endedByClose) = try blockingBody(of: head)
        return RawAnswer(head: head, body: body, endedByClose: endedByClose)
    }

    private func blockingClosed() -> Bool {
        if sawEOF { return true }
        guard buffer.isEmpty else { return false }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &chunk, chunk.count, 0)
        if count > 0 {
            buffer += chunk.prefix(count)
            return false
        }
        if count == 0 || errno == ECONNRESET {
            sawEOF = true
            return true
        }
        // The receive timeout: still open.
        return false
    }

    private func blockingHasMore(_ milliseconds: Int32) -> Bool {
        if !buffer.isEmpty { return true }
        guard !sawEOF else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else {
            sawEOF = true
            return false
        }
        buffer += chunk.prefix(count)
        return true
    }

    private func blockingDrain(_ milliseconds: Int32) -> [UInt8] {
        while !sawEOF {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, milliseconds) > 0 else { break }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = recv(fd, &chunk, chunk.count, 0)
            if count > 0 {
                buffer += chunk.prefix(count)
            } else {
                // The end, or a reset.
                sawEOF = true
            }
        }
        let all = buffer
        buffer = []
        return all
    }
}

/// Where `pattern` first occurs in `bytes` at or after `start`.
func rawIndex(of pattern: [UInt8], in bytes: [UInt8], from start: Int = 0) -> Int? {
    guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
    var index = max(0, start)
    while index <= bytes.count - pattern.count {
        if bytes[index] == pattern[0], bytes[index..<(index + pattern.count)].elementsEqual(pattern) { return index }
        index += 1
    }
    return nil
}

/// `bytes` split on CRLF (only), each line as text.
func rawLines(_ bytes: [UInt8]) -> [String] {
    var lines: [String] = []
    var start = 0
    var index = 0
    while index + 1 < bytes.count {
        if bytes[index] == 13, bytes[index + 1] == 10 {
            lines.append(String(decoding: bytes[start..<index], as: UTF8.self))
            index += 2
            start = index
        } else {
            index += 1
        }
    }
    lines.append(String(decoding: bytes[start...], as: UTF8.self))
    return lines
}

// MARK: - A scripted upstream

/// A plain HTTP/1.1 upstream that answers the n-th request it reads (on
/// any of its connections) with `answers[n]` exactly as given, byte for
/// byte — the last one again for any later request — and closes the
/// connection after an answer marked so. It reads a request as its head
/// (to CRLFCRLF) and its `Content-Length` body (or a chunked body to its
/// last chunk), counts connections, and keeps each request's bytes.
final class ScriptedAnswerServer: @unchecked Sendable {
    struct Answer: Sendable {
        var bytes: [UInt8]
        var thenClose: Bool

        init(_ text: String, thenClose: Bool = false) {
            bytes = Array(text.utf8)
            self.thenClose = thenClose
        }

        /// A 200 with a JSON body and its length, the connection kept alive.
        static func json(_ body: String) -> Answer {
            Answer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        }
    }

    fileprivate struct Record: Sendable {
        var connections = 0
        var requests: [[UInt8]] = []
        var open: [ObjectIdentifier: any Channel] = [:]
    }

    let port: Int
    private let channel: any Channel
    private let record: NIOLockedValueBox<Record>

    /// Connections accepted.
    var connections: Int { record.withLockedValue { $0.connections } }
    /// Every request's bytes, in the order they were read.
    var requests: [[UInt8]] { record.withLockedValue { $0.requests } }

    private init(port: Int, channel: any Channel, record: NIOLockedValueBox<Record>) {
        self.port = port
        self.channel = channel
        self.record = record
    }

    static func start(_ answers: [Answer]) async throws -> ScriptedAnswerServer {
        precondition(!answers.isEmpty)
        let record = NIOLockedValueBox(Record())
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let id = ObjectIdentifier(channel)
                    record.withLockedValue {
                        $0.connections += 1
                        $0.open[id] = channel
                    }
                    channel.closeFuture.whenComplete { _ in
                        record.withLockedValue { _ = $0.open.removeValue(forKey: id) }
                    }
                    try channel.pipeline.syncOperations.addHandler(Handler(answers: answers, record: record))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedAnswerServer(port: channel.localAddress?.port ?? 0, channel: channel, record: record)
    }

    /// Stops listening and closes every connection still open.
    func shutdown() async {
        try? await channel.close()
        for child in record.withLockedValue({ Array($0.open.values) }) { try? await child.close() }
    }

    /// The length of the whole request at the start of `bytes`, once all of it has arrived.
    static func requestLength(_ bytes: [UInt8]) -> Int? {
        guard let end = rawIndex(of: Array("\r\n\r\n".utf8), in: bytes) else { return nil }
        let headLength = end + 4
        let fields = rawLines(Array(bytes[..<end])).dropFirst().map { $0.lowercased() }
        if fields.contains(where: { $0.hasPrefix("transfer-encoding:") && $0.contains("chunked") }) {
            guard let last = rawIndex(of: Array("0\r\n\r\n".utf8), in: bytes, from: headLength) else { return nil }
            return last + 5
        }
        let length = fields.first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        return bytes.count >= headLength + length ? headLength + length : nil
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let answers: [Answer]
        let record: NIOLockedValueBox<Record>
        var received: [UInt8] = []
        var closing = false

        init(answers: [Answer], record: NIOLockedValueBox<Record>) {
            self.answers = answers
            self.record = record
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !closing else { return }
            received += unwrapInboundIn(data).readableBytesView
            while !closing, let length = ScriptedAnswerServer.requestLength(received) {
                let request = Array(received.prefix(length))
                received.removeFirst(length)
                let count = record.withLockedValue { record -> Int in
                    record.requests.append(request)
                    return record.requests.count
                }
                let answer = answers[min(count, answers.count) - 1]
                let written = context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: answer.bytes)))
                if answer.thenClose {
                    closing = true
                    written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                }
            }
        }
    }
}

@testable import KeywardenServer
import NIOCore
import Testing

@Suite("Gateway fast path: which requests are read from the bytes before HTTP decoding")
struct RawGatewayRequestTests {
    static let maxBody = 1024

    static func scan(_ text: String, maxBody: Int = RawGatewayRequestTests.maxBody) -> RawGatewayRequest.Scan {
        RawGatewayRequest.scan(ByteBuffer(string: text), maxBody: maxBody)
    }

    static func kind(_ scan: RawGatewayRequest.Scan) -> String {
        switch scan {
        case .incomplete: "incomplete"
        case .unsure: "unsure"
        case .bodyTooLarge: "bodyTooLarge"
        case .request: "request"
        }
    }

    static func request(_ scan: RawGatewayRequest.Scan) -> RawGatewayRequest? {
        guard case .request(let request) = scan else { return nil }
        return request
    }

    @Test("a POST with a body and an SDK's headers: method, target, fields, lengths, and lines that slice back to the bytes sent")
    func post() throws {
        let body = #"{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#
        let lines = [
            "POST /v1/messages?beta=true HTTP/1.1",
            "Host: api.anthropic.com",
            "x-api-key: kw-run-0123456789abcdef",
            "anthropic-version: 2023-06-01",
            "content-type: application/json",
            "Content-Length:\(body.utf8.count)",
            "Connection: keep-alive",
        ]
        let head = lines.joined(separator: "\r\n") + "\r\n\r\n"
        // Bytes already read before the request: `line` counts from the readerIndex.
        var sent = ByteBuffer(string: "earlier" + head + body)
        sent.moveReaderIndex(forwardBy: 7)
        let buffer = sent
        let request = try #require(Self.request(RawGatewayRequest.scan(buffer, maxBody: Self.maxBody)))
        #expect(request.method == "POST" && request.target == "/v1/messages?beta=true")
        #expect(request.fields.map(\.name) == ["host", "x-api-key", "anthropic-version", "content-type", "content-length", "connection"])
        #expect(request.fields.map(\.value) == [
            "api.anthropic.com", "kw-run-0123456789abcdef", "2023-06-01", "application/json", "\(body.utf8.count)", "keep-alive",
        ])
        let sliced = request.fields.map { buffer.getString(at: buffer.readerIndex + $0.line.lowerBound, length: $0.line.count) ?? "" }
        #expect(sliced == Array(lines.dropFirst()))
        #expect(request.contentLength == body.utf8.count)
        #expect(request.headLength == head.utf8.count)
        #expect(request.totalLength == head.utf8.count + body.utf8.count)
        #expect(buffer.getString(at: buffer.readerIndex + request.headLength, length: request.totalLength - request.headLength) == body)
    }

    @Test("a GET without a body")
    func get() throws {
        let text = "GET /v1/models?limit=5 HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\nAccept:\r\n\r\n"
        let request = try #require(Self.request(Self.scan(text)))
        #expect(request.method == "GET" && request.target == "/v1/models?limit=5")
        #expect(request.fields.map(\.name) == ["host", "connection", "accept"])
        #expect(request.fields.map(\.value) == ["a", "Keep-Alive", ""])
        #expect(request.contentLength == nil)
        #expect(request.headLength == text.utf8.count && request.totalLength == text.utf8.count)
    }

    @Test("a pipelined next request is left where it starts, unread")
    func pipelined() throws {
        let first = "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
        for next in ["POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n[1]", "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n", "\u{0}\n"] {
            let request = try #require(Self.request(Self.scan(first + next)), "\(next.debugDescription)")
            #expect(request.contentLength == 2 && request.totalLength == first.utf8.count)
            #expect(request.fields.count == 2)
        }
    }

    @Test("a head or a body not all there yet")
    func incomplete() {
        for text in [
            "",
            "POST /v1/mess",
            "POST /v1/messages HTTP/1.1\r\nHost: a\r\n",
            "POST /v1/messages HTTP/1.1\r\nHost: a\r\n\r",
            "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n",
            "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n{\"a\":",
        ] {
            #expect(Self.kind(Self.scan(text)) == "incomplete", "\(text.debugDescription)")
        }
    }

    @Test("the limits, up to and including")
    func limits() throws {
        let fields = "GET / HTTP/1.1\r\n" + (0..<RawGatewayRequest.maxFields).map { "x-\($0): v\r\n" }.joined() + "\r\n"
        let most = try #require(Self.request(Self.scan(fields)))
        #expect(most.fields.count == RawGatewayRequest.maxFields)

        let start = "GET / HTTP/1.1\r\nx-a: "
        let full = start + String(repeating: "x", count: RawGatewayRequest.maxHead - start.utf8.count - 4) + "\r\n\r\n"
        let longest = try #require(Self.request(Self.scan(full)))
        #expect(longest.headLength == RawGatewayRequest.maxHead && longest.totalLength == RawGatewayRequest.maxHead)

        let body = String(repeating: "b", count: Self.maxBody)
        let largest = "POST / HTTP/1.1\r\nContent-Length: \(Self.maxBody)\r\n\r\n"
        let largestBody = try #require(Self.request(Self.scan(largest + body)))
        #expect(largestBody.totalLength == largest.utf8.count + Self.maxBody)
        #expect(Self.kind(Self.scan("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")) == "request")
        #expect(Self.kind(Self.scan("POST / HTTP/1.1\r\nContent-Length: 000000000000000001\r\n\r\nx")) == "request")
    }

    @Test("a body larger than the fast path collects: the decoder reads it, and the next request starts after it")
    func bodyTooLarge() {
        let head = "POST / HTTP/1.1\r\nContent-Length: \(Self.maxBody + 1)\r\n\r\n"
        guard case .bodyTooLarge(let total) = Self.scan(head) else {
            Issue.record("not bodyTooLarge")
            return
        }
        #expect(total == head.utf8.count + Self.maxBody + 1)
        // The rest of the head is still checked first.
        #expect(Self.kind(Self.scan("POST / HTTP/1.1\r\nContent-Length: \(Self.maxBody + 1)\r\nx-a: 1 \r\n\r\n")) == "unsure")
        #expect(Self.kind(Self.scan("POST / HTTP/1.1\r\nContent-Length: \(Self.maxBody + 1)\r\n")) == "incomplete")
    }

    @Test("the methods an API request uses, exactly as the decoder spells them")
    func methods() {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            #expect(Self.request(Self.scan("\(method) /v1/x HTTP/1.1\r\nHost: a\r\n\r\n"))?.method == method)
        }
    }

    @Test("anything else goes to the HTTP decoder")
    func unsure() {
        let tooMany = "GET / HTTP/1.1\r\n" + (0...RawGatewayRequest.maxFields).map { "x-\($0): v\r\n" }.joined() + "\r\n"
        let start = "GET / HTTP/1.1\r\nx-a: "
        let long = start + String(repeating: "x", count: RawGatewayRequest.maxHead - start.utf8.count)  // maxHead bytes
        for text in [
            "GET / HTTP/1.0\r\n\r\n",
            // Methods outside the API's: llhttp reads CONNECT without its body, refuses unknown or lowercase ones.
            "CONNECT /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET /",
            "HEAD / HTTP/1.1\r\n\r\n",
            "get / HTTP/1.1\r\n\r\n",
            "FOO / HTTP/1.1\r\n\r\n",
            "POSTX / HTTP/1.1\r\n\r\n",
            String(repeating: "A", count: 80) + " / HTTP/1.1\r\n\r\n",
            "GET / http/1.1\r\n\r\n",
            "GET / HTTP/1.1 \r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",                                                     // double space
            "GET /  HTTP/1.1\r\n\r\n",
            " GET / HTTP/1.1\r\n\r\n",
            "\r\nGET / HTTP/1.1\r\n\r\n",
            "GET http://x/ HTTP/1.1\r\n\r\n",                                              // absolute form
            "OPTIONS * HTTP/1.1\r\n\r\n",
            "CONNECT x:443 HTTP/1.1\r\n\r\n",
            "GET /a\tb HTTP/1.1\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
            "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n12345",
            "POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n{}",
            "POST / HTTP/1.1\r\nContent-Length: 0000000000000000001\r\n\r\nx",               // 19 digits
            "POST / HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
            "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",                                 // obs-fold
            "GET / HTTP/1.1\r\nHost: a\r\n\tfolded: b\r\n\r\n",
            "GET / HTTP/1.1\r\nx-a: 1\nx-b: 2\r\n\r\n",                                      // bare LF
            "GET / HTTP/1.1\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nx-a: 1\n\r\n\r\n",
            "GET / HTTP/1.1\nHost: a\n\n",                                                   // a head ended by bare LFs
            "GET / HTTP/1.1\r\nx-a: 1\r2\r\n\r\n",                                           // bare CR
            "GET / HTTP/1.1\r\nx-a: 1\r\r\n\r\n",
            "GET / HTTP/1.1\r\nx-a: 1\u{0}2\r\n\r\n",                                        // NUL
            "GET /\u{0} HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nx-a: caf\u{e9}\r\n\r\n",                                      // not ASCII
            "GET / HTTP/1.1\r\nx-a: \u{7F}\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost a\r\n\r\n",
            "GET / HTTP/1.1\r\n: a\r\n\r\n",
            "GET / HTTP/1.1\r\nx-a: 1 \r\n\r\n",                                             // trailing blank
            "GET / HTTP/1.1\r\nx-a: 1\t\r\n\r\n",
            tooMany,
            String(long.dropLast(3)) + "\r\n\r\n",                                                // a head of maxHead + 1 bytes
            long + "\r\n\r\n",
            long,                                                                               // maxHead bytes, not yet ended
        ] {
            #expect(Self.kind(Self.scan(text)) == "unsure", "\(text.prefix(200).debugDescription)")
        }
    }
}

@testable import KeywardenServer
import NIOCore
import NIOHTTP1
import Testing

@Suite("Gateway fast path: an upstream answer read from the connection's bytes")
struct UpstreamAnswerReaderTests {
    typealias Reader = UpstreamAnswerReader

    /// What a reader made of an answer.
    struct Reading {
        var heads: [Reader.Head] = []
        var wire = ByteBuffer()
        var data = ByteBuffer()
        var ends: [Bool] = []

        var wireText: String { String(buffer: wire) }
        var dataText: String { String(buffer: data) }

        /// One call's events, checked for what every call must hold: a head
        /// first, then data, one wire at most, the end last; nothing empty.
        mutating func take(_ events: [Reader.Event]) {
            var rank = 0
            var wires = 0
            for event in events {
                let eventRank: Int
                switch event {
                case .head(let head):
                    eventRank = 0
                    heads.append(head)
                case .data(var bytes):
                    eventRank = 1
                    #expect(bytes.readableBytes > 0, "empty data")
                    data.writeBuffer(&bytes)
                case .wire(var bytes):
                    eventRank = 2
                    wires += 1
                    #expect(bytes.readableBytes > 0, "empty wire")
                    wire.writeBuffer(&bytes)
                case .end(let extra):
                    eventRank = 3
                    ends.append(extra)
                }
                #expect(eventRank >= rank, "events out of order")
                rank = eventRank
            }
            #expect(wires <= 1, "more than one wire in a read")
        }
    }

    /// `bytes` as a read: its reader index not at 0, as in a buffer a handler has read from.
    static func buffer(_ bytes: some Sequence<UInt8>) -> ByteBuffer {
        var buffer = ByteBuffer(string: "xyz")
        buffer.writeBytes(bytes)
        buffer.moveReaderIndex(forwardBy: 3)
        return buffer
    }

    /// Feeds `reads` one by one, then the connection's close when `closing`.
    static func feed(_ reads: [[UInt8]], closing: Bool = false) throws(Reader.Failure) -> Reading {
        var reader = Reader()
        var reading = Reading()
        for read in reads {
            var events: [Reader.Event] = []
            try reader.read(buffer(read)) { events.append($0) }
            reading.take(events)
        }
        if closing {
            var events: [Reader.Event] = []
            try reader.inputClosed { events.append($0) }
            reading.take(events)
        }
        return reading
    }

    static func feed(_ reads: [String], closing: Bool = false) throws(Reader.Failure) -> Reading {
        try feed(reads.map { Array($0.utf8) }, closing: closing)
    }

    /// `answer` whole, split in two at every byte, and one byte per read.
    static func splits(_ answer: String) -> [[[UInt8]]] {
        let bytes = Array(answer.utf8)
        let halves: [[[UInt8]]] = (1..<bytes.count).map { [Array(bytes[..<$0]), Array(bytes[$0...])] }
        let bytePerRead: [[UInt8]] = bytes.map { [$0] }
        return [[bytes]] + halves + [bytePerRead]
    }

    static let chunkedHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Padded: \t value  with  inner \t \r\nTransfer-Encoding: chunked\r\n\r\n"
    static let chunkedBody = "5;name=\"v\";flag\r\nhello\r\nB\r\ndata: a\r\n\r\n\r\n0;last\r\nX-Trailer: done\r\nX-Other:1\r\n\r\n"

    @Test("a chunked answer with extensions and trailers, however its bytes are split into reads")
    func chunked() throws {
        for reads in Self.splits(Self.chunkedHead + Self.chunkedBody) {
            let reading = try Self.feed(reads)
            #expect(reading.wireText == Self.chunkedBody)
            #expect(reading.dataText == "hellodata: a\r\n\r\n")
            #expect(reading.ends == [false])
            let head = try #require(reading.heads.first)
            #expect(reading.heads.count == 1)
            #expect(head.status == 200 && head.reason == "OK" && head.framing == .chunked && head.keepAlive)
            #expect(head.headers.map { $0.name } == ["Content-Type", "X-Padded", "Transfer-Encoding"])
            #expect(head.headers["x-padded"] == ["value  with  inner"])
        }
    }

    @Test("a Content-Length answer, however split; empty bodies by length, 204 and 304")
    func lengths() throws {
        for reads in Self.splits("HTTP/1.1 404 Not Found\r\nContent-Length: 11\r\n\r\nhello world") {
            let reading = try Self.feed(reads)
            #expect(reading.wireText == "hello world" && reading.dataText == "hello world" && reading.ends == [false])
            #expect(reading.heads.map(\.status) == [404] && reading.heads.first?.framing == .length(11))
        }
        for empty in [
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n",
        ] {
            // The end comes in the read that ends the head.
            var events: [Reader.Event] = []
            var reader = Reader()
            try reader.read(Self.buffer(empty.utf8)) { events.append($0) }
            var reading = Reading()
            reading.take(events)
            #expect(reading.ends == [false], "\(empty)")
            #expect(reading.heads.first?.keepAlive == true)
        }
        #expect(try Self.feed(["HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n"]).heads.first?.framing == .length(0))
        #expect(try Self.feed(["HTTP/1.1 204\r\n\r\n"]).heads.first?.reason == "")
        // One length however often repeated; a reason phrase may be empty.
        let repeated = try Self.feed(["HTTP/1.1 200 \r\nContent-Length: 5, 5\r\nContent-Length:5\r\n\r\nfive!"])
        #expect(repeated.heads.first?.framing == .length(5) && repeated.heads.first?.reason == "" && repeated.dataText == "five!")
    }

    @Test("interim 1xx heads are skipped, in the same read or not; 101 is refused")
    func interim() throws {
        let answer = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        for reads in Self.splits(answer) {
            let reading = try Self.feed(reads)
            #expect(reading.heads.map(\.status) == [200] && reading.heads.first?.headers.count == 1)
            #expect(reading.dataText == "ok" && reading.ends == [false])
        }
        #expect(throws: Reader.Failure(reason: "switching protocols is not supported")) {
            try Self.feed(["HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"])
        }
    }

    @Test("a body without a length ends with the connection; which answers leave it open")
    func keepAlive() throws {
        let untilClose = try Self.feed(["HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome ", "more"], closing: true)
        #expect(untilClose.heads.first?.framing == .untilClose && untilClose.heads.first?.keepAlive == false)
        #expect(untilClose.dataText == "some more" && untilClose.wireText == "some more" && untilClose.ends == [false])

        for (answer, keepAlive) in [
            ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true),
            ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false),
        ] {
            #expect(try Self.feed([answer]).heads.first?.keepAlive == keepAlive, "\(answer)")
        }
    }

    @Test("bytes after the answer in the same read end it with extra")
    func extra() throws {
        let next = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        let length = try Self.feed(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + next])
        #expect(length.ends == [true] && length.wireText == "ok" && length.dataText == "ok")
        let chunked = try Self.feed([Self.chunkedHead + Self.chunkedBody + next])
        #expect(chunked.ends == [true] && chunked.wireText == Self.chunkedBody)
        #expect(try Self.feed([next + next]).ends == [true])
    }

    static let refused: [String] = [
        "HTTP/1.1 200 OK\r\nX-A: b\nContent-Length: 0\r\n\r\n",                  // bare LF
        "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: b\rc\r\nContent-Length: 0\r\n\r\n",              // bare CR
        "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 0\r\n\r\n",           // obs-fold
        "HTTP/1.1 200 OK\r\n\tX-A: b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: b\u{0}c\r\nContent-Length: 0\r\n\r\n",           // NUL
        "HTTP/1.1 200 OK\r\nX-A: b\u{7F}\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 0\r\n\r\n",                 // not a token
        "HTTP/1.1 200 OK\r\n: b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A b\r\nContent-Length: 0\r\n\r\n",                  // no colon
        "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 600 Nope\r\nContent-Length: 0\r\n\r\n",
        "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 O\u{1}K\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",            // chunk sizes
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",  // no CRLF after the data
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX A: b\r\n\r\n",      // a bad trailer
        "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: 65 * 1024) + "\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n" + String(repeating: "X-A: b\r\n", count: 257) + "Content-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 5000) + "\r\n",
    ]

    @Test("refuses what could smuggle a line or frame a body two ways, whole or split")
    func refuses() {
        for answer in Self.refused {
            let shown = String(answer.prefix(120))
            #expect(throws: Reader.Failure.self, "\(shown)") { try Self.feed([answer]) }
            #expect(throws: Reader.Failure.self, "\(shown)") { try Self.feed(Array(answer.utf8).chunked(into: 7)) }
        }
    }

    @Test("an answer cut short by the connection's close fails; so does a close before any byte")
    func cutShort() throws {
        #expect(throws: Reader.Failure.self) { try Self.feed(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"], closing: true) }
        #expect(throws: Reader.Failure.self) { try Self.feed(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"], closing: true) }
        #expect(throws: Reader.Failure.self) { try Self.feed(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n"], closing: true) }
        #expect(throws: Reader.Failure.self) { try Self.feed(["HTTP/1.1 200 OK\r\nContent-"], closing: true) }

        var reader = Reader()
        #expect(!reader.sawBytes)
        do throws(Reader.Failure) {
            try reader.inputClosed { _ in Issue.record("no event expected") }
            Issue.record("a close before any byte must fail")
        } catch {
            #expect(error.reason.contains("before an answer"))
        }
        #expect(!reader.sawBytes)
        var partial = Reader()
        try partial.read(Self.buffer("HTTP/1.1 2".utf8)) { _ in Issue.record("no event expected") }
        #expect(partial.sawBytes)
    }

    @Test("after its end or a failure, the reader takes nothing more")
    func unusable() throws {
        var reader = Reader()
        try reader.read(Self.buffer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)) { _ in }
        #expect(throws: Reader.Failure.self) { try reader.read(Self.buffer("x".utf8)) { _ in } }
        #expect(throws: Reader.Failure.self) { try reader.inputClosed { _ in } }

        var failed = Reader()
        #expect(throws: Reader.Failure.self) { try failed.read(Self.buffer("HTTP/2 200 OK\r\n".utf8)) { _ in } }
        #expect(throws: Reader.Failure.self) { try failed.read(Self.buffer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)) { _ in } }
    }
}

extension Array {
    /// Consecutive pieces of at most `size` elements.
    fileprivate func chunked(into size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

import NIOCore
import NIOHTTP1

/// One HTTP/1.1 answer read from the raw bytes of an upstream connection as
/// they arrive (``UpstreamExchange``): the body's bytes as sent, chunk
/// framing included, go to a client unchanged (``Event/wire(_:)``), and its
/// decoded content lets the gateway classify error answers
/// (``Event/data(_:)``).
///
/// Stricter than NIO's codec, because the head's fields are written to a
/// client and the connection may carry the next request: a bare CR or LF, a
/// NUL, obs-fold, or framing two readers could take differently (RFC 9112
/// §6.3, §11.2) is a ``Failure``, never guessed at.
///
/// The head is read line by line; only a line whose end has not arrived is
/// kept across reads. Body bytes are never held back: each read's body bytes
/// go out in its `.wire` at once, so a partial chunk-size line is passed on
/// before it is decoded (were it bad, the read that shows it throws and the
/// client's answer is cut short, as it must be then anyway).
struct UpstreamAnswerReader {
    enum Framing: Equatable {
        /// `Content-Length` (or 0 for 204/304).
        case length(Int)
        case chunked
        /// No length: the body ends when the server closes the connection.
        case untilClose
    }

    struct Head {
        var status: Int
        /// The reason phrase as sent (may be empty).
        var reason: String
        /// The fields in order, names as sent, values with surrounding blanks trimmed.
        var headers: HTTPHeaders
        /// Whether the connection may carry another exchange after this answer
        /// (HTTP/1.1 without a `close` token in `Connection`; HTTP/1.0 only with `keep-alive`; never for `.untilClose`).
        var keepAlive: Bool
        var framing: Framing
    }

    enum Event {
        /// The answer's head (interim 1xx heads are skipped, never reported).
        case head(Head)
        /// Body bytes of one `read` call exactly as they arrived on the wire (chunk-size lines, chunk CRLFs,
        /// last chunk and trailers included): what is passed on to a client unchanged. One per `read` call at most, never empty.
        case wire(ByteBuffer)
        /// Body bytes without framing (the decoded content). Possibly several per read; never empty.
        case data(ByteBuffer)
        /// The answer ended. `extra`: bytes followed the answer in the same read (the connection must not be reused).
        case end(extra: Bool)
    }

    struct Failure: Error, Equatable {
        /// Why, for logs and the gateway's 502 text: never contains the answer's bytes.
        var reason: String
    }

    static let maxHead = 64 * 1024
    static let maxFields = 256
    static let maxChunkSizeLine = 4096

    private enum State {
        case head
        case length(remaining: Int)
        case untilClose
        case chunkSize
        case chunkData(remaining: Int)
        /// The CRLF after a chunk's data; `sawCR` when its CR came in an earlier read.
        case chunkDataEnd(sawCR: Bool)
        /// After the last chunk: `bytes` and `fields` of the trailer lines so far.
        case trailers(bytes: Int, fields: Int)
        case ended
        case failed
    }

    /// A head whose empty line has not arrived yet.
    private struct PartialHead {
        var status: Int
        var reason: String
        var isHTTP10: Bool
        var headers = HTTPHeaders()
        /// So far, line ends included: the head's limit.
        var bytes: Int
    }

    private var state = State.head
    /// nil until the status line of the current head is read.
    private var partialHead: PartialHead?
    /// The start of a line (head, chunk size, trailer) whose CRLF has not arrived yet.
    private var heldLine = ByteBuffer()
    private(set) var sawBytes = false

    init() {}

    /// Reads the next bytes of the connection. Emits events in wire order; for one read: possibly `.head`,
    /// then for the body portion the `.data` events and one `.wire` event (all `.data` first, then the `.wire`),
    /// then possibly `.end`. Bytes it cannot decide on yet (a partial head, a partial chunk-size line, partial
    /// CRLF after chunk data, partial trailers) are kept until the next read. After `.end` further reads throw.
    mutating func read(_ buffer: ByteBuffer, emit: (Event) -> Void) throws(Failure) {
        switch state {
        case .failed: throw Failure(reason: "the answer was already unreadable")
        case .ended: throw Failure(reason: "bytes after the answer had ended")
        default: break
        }
        if buffer.readableBytes > 0 { sawBytes = true }
        var input = buffer
        do throws(Failure) {
            while case .head = state {
                guard let line = try nextLine(&input, limit: Self.maxHead - (partialHead?.bytes ?? 0), tooLong: "a head larger than 64 KiB")
                else { return }
                if let head = try takeHeadLine(line) { emit(.head(head)) }
            }
            let body = input
            try readBody(&input, emit: emit)
            let wireLength = input.readerIndex - body.readerIndex
            if wireLength > 0 { emit(.wire(body.getSlice(at: body.readerIndex, length: wireLength)!)) }
            if case .ended = state { emit(.end(extra: input.readableBytes > 0)) }
        } catch {
            state = .failed
            heldLine = ByteBuffer()
            throw error
        }
    }

    /// The server closed the connection: ends an `.untilClose` body (emits `.end(extra: false)`), else throws
    /// (the answer was cut short, had already ended, or never began: each with its own reason).
    mutating func inputClosed(emit: (Event) -> Void) throws(Failure) {
        if case .untilClose = state {
            state = .ended
            emit(.end(extra: false))
            return
        }
        let reason = switch state {
        case .head: sawBytes ? "the connection closed in the middle of the answer's head" : "the connection closed before an answer"
        case .ended: "the connection closed after the answer had ended"
        case .failed: "the answer was already unreadable"
        default: "the connection closed in the middle of the answer's body"
        }
        state = .failed
        throw Failure(reason: reason)
    }

    /// The next line without its CRLF, or nil when `input` ends first (then
    /// its start is held for the next read). `limit` counts the CRLF.
    private mutating func nextLine(_ input: inout ByteBuffer, limit: Int, tooLong: String) throws(Failure) -> ByteBuffer? {
        guard let lf = input.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            // The LF still to come would take the line past its limit.
            guard heldLine.readableBytes + input.readableBytes < limit else { throw Failure(reason: tooLong) }
            heldLine.writeBuffer(&input)
            return nil
        }
        var line = input.readSlice(length: lf + 1 - input.readerIndex)!
        guard heldLine.readableBytes + line.readableBytes <= limit else { throw Failure(reason: tooLong) }
        if heldLine.readableBytes > 0 {
            heldLine.writeBuffer(&line)
            line = heldLine
            heldLine = ByteBuffer()
        }
        guard line.readableBytes >= 2, line.getInteger(at: line.writerIndex - 2, as: UInt8.self) == UInt8(ascii: "\r")
        else { throw Failure(reason: "a line ending in a bare LF") }
        line.moveWriterIndex(to: line.writerIndex - 2)
        return line
    }

    /// Takes one line of a head: the answer's head once its empty line has
    /// arrived, nil before it and for an interim (1xx) head.
    private mutating func takeHeadLine(_ line: ByteBuffer) throws(Failure) -> Head? {
        guard var head = partialHead else {
            partialHead = try Self.statusLine(line)
            return nil
        }
        partialHead = nil  // the fields stay uniquely held while they grow
        head.bytes += line.readableBytes + 2
        if line.readableBytes > 0 {
            guard head.headers.count < Self.maxFields else { throw Failure(reason: "more than 256 header fields") }
            let field = try Self.field(line)
            head.headers.add(name: String(decoding: field.name, as: UTF8.self), value: String(decoding: field.value, as: UTF8.self))
            partialHead = head
            return nil
        }
        // 100 Continue, 103 Early Hints: the answer's own head follows.
        if head.status < 200 { return nil }
        let framing = try Self.framing(of: head)
        switch framing {
        case .length(0): state = .ended
        case .length(let length): state = .length(remaining: length)
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose
        }
        let connection = Self.elements(of: "connection", in: head.headers).map { $0.lowercased() }
        // RFC 9112 §6.1: an HTTP/1.0 answer with Transfer-Encoding is read, then its connection closed.
        let asked = !head.isHTTP10 || (connection.contains("keep-alive") && framing != .chunked)
        let keepAlive = asked && !connection.contains("close") && framing != .untilClose
        return Head(status: head.status, reason: head.reason, headers: head.headers, keepAlive: keepAlive, framing: framing)
    }

    /// Reads body bytes from `input` until it is empty or the answer ends.
    private mutating func readBody(_ input: inout ByteBuffer, emit: (Event) -> Void) throws(Failure) {
        while input.readableBytes > 0 {
            switch state {
            case .head, .ended, .failed:
                return
            case .length(let remaining):
                let data = input.readSlice(length: min(remaining, input.readableBytes))!
                emit(.data(data))
                state = data.readableBytes == remaining ? .ended : .length(remaining: remaining - data.readableBytes)
            case .untilClose:
                emit(.data(input.readSlice(length: input.readableBytes)!))
            case .chunkSize:
                guard let line = try nextLine(&input, limit: Self.maxChunkSizeLine, tooLong: "a chunk-size line longer than 4096 bytes")
                else { return }
                let size = try Self.chunkSize(line)
                state = size == 0 ? .trailers(bytes: 0, fields: 0) : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let data = input.readSlice(length: min(remaining, input.readableBytes))!
                emit(.data(data))
                state = data.readableBytes == remaining ? .chunkDataEnd(sawCR: false) : .chunkData(remaining: remaining - data.readableBytes)
            case .chunkDataEnd(let sawCR):
                guard input.readInteger(as: UInt8.self) == (sawCR ? UInt8(ascii: "\n") : UInt8(ascii: "\r"))
                else { throw Failure(reason: "chunk data not followed by CRLF") }
                state = sawCR ? .chunkSize : .chunkDataEnd(sawCR: true)
            case .trailers(let bytes, let fields):
                guard let line = try nextLine(&input, limit: Self.maxHead - bytes, tooLong: "trailers larger than 64 KiB")
                else { return }
                if line.readableBytes == 0 {
                    state = .ended
                } else {
                    guard fields < Self.maxFields else { throw Failure(reason: "more than 256 trailer fields") }
                    _ = try Self.field(line)
                    state = .trailers(bytes: bytes + line.readableBytes + 2, fields: fields + 1)
                }
            }
        }
    }

    /// `HTTP/1.x NNN`, then nothing or a space and a reason phrase.
    private static func statusLine(_ line: ByteBuffer) throws(Failure) -> PartialHead {
        let bytes = line.readableBytesView
        let start = bytes.startIndex
        guard bytes.count >= 12, bytes.starts(with: "HTTP/1.1 ".utf8) || bytes.starts(with: "HTTP/1.0 ".utf8),
              bytes[start + 9..<start + 12].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { throw Failure(reason: "a malformed status line") }
        let status = bytes[start + 9..<start + 12].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        let rest = bytes[(start + 12)...]
        guard (100...599).contains(status), rest.isEmpty || (rest.first == UInt8(ascii: " ") && rest.dropFirst().allSatisfy(isFieldText))
        else { throw Failure(reason: "a malformed status line") }
        guard status != 101 else { throw Failure(reason: "switching protocols is not supported") }
        return PartialHead(status: status, reason: String(decoding: rest.dropFirst(), as: UTF8.self),
                           isHTTP10: bytes[start + 7] == UInt8(ascii: "0"), bytes: line.readableBytes + 2)
    }

    /// `name: value` of a header or trailer line; the value without its surrounding blanks.
    private static func field(_ line: ByteBuffer) throws(Failure) -> (name: ByteBufferView, value: ByteBufferView) {
        let bytes = line.readableBytesView
        guard bytes.first != UInt8(ascii: " "), bytes.first != UInt8(ascii: "\t") else { throw Failure(reason: "a folded header line (obs-fold)") }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { throw Failure(reason: "a header line without a colon") }
        let name = bytes[..<colon]
        guard !name.isEmpty, name.allSatisfy(RawHTTPHead.Field.isTokenByte) else { throw Failure(reason: "a header name that is not a token") }
        var value = bytes[(colon + 1)...]
        guard value.allSatisfy(isFieldText) else { throw Failure(reason: "a control character in a header value") }
        while let first = value.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { value = value.dropFirst() }
        while let last = value.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { value = value.dropLast() }
        return (name, value)
    }

    /// HTAB, SP, visible ASCII and obs-text: what a reason phrase and a field value may hold.
    private static func isFieldText(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F)
    }

    /// RFC 9112 §6.3, without the lenient readings: one coding, `chunked`, or
    /// one length however often repeated; never both.
    private static func framing(of head: PartialHead) throws(Failure) -> Framing {
        if head.status == 204 || head.status == 304 { return .length(0) }
        let codings = elements(of: "transfer-encoding", in: head.headers)
        let lengths = elements(of: "content-length", in: head.headers)
        if !codings.isEmpty {
            guard lengths.isEmpty else { throw Failure(reason: "both Transfer-Encoding and Content-Length") }
            guard codings.count == 1, codings[0].lowercased() == "chunked" else { throw Failure(reason: "a transfer coding other than chunked alone") }
            return .chunked
        }
        guard let length = lengths.first else { return .untilClose }
        guard (1...18).contains(length.utf8.count), length.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              lengths.allSatisfy({ $0 == length }), let value = Int(length)
        else { throw Failure(reason: "a malformed or conflicting Content-Length") }
        return .length(value)
    }

    /// The comma-separated elements of every `name` field, in order, blanks around each trimmed (empty ones kept).
    private static func elements(of name: String, in headers: HTTPHeaders) -> [Substring] {
        headers[name].flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { element in
            let start = element.firstIndex { $0 != " " && $0 != "\t" } ?? element.endIndex
            let end = element[start...].lastIndex { $0 != " " && $0 != "\t" }.map(element.index(after:)) ?? start
            return element[start..<end]
        }
    }

    /// 1–16 hex digits, then nothing or `;` and extensions of visible ASCII
    /// and blanks (a client gets them as sent: nothing a strict parser refuses).
    private static func chunkSize(_ line: ByteBuffer) throws(Failure) -> Int {
        let bytes = line.readableBytesView
        let digitsEnd = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex
        var size: UInt64 = 0
        for byte in bytes[..<digitsEnd] {
            guard let digit = hexValue(byte) else { throw Failure(reason: "a malformed chunk size") }
            size = size << 4 | digit
        }
        guard (1...16).contains(digitsEnd - bytes.startIndex), let chunk = Int(exactly: size),
              bytes[digitsEnd...].allSatisfy({ (0x20...0x7E).contains($0) || $0 == 0x09 })
        else { throw Failure(reason: "a malformed chunk size") }
        return chunk
    }

    private static func hexValue(_ byte: UInt8) -> UInt64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt64(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt64(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

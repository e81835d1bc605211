import NIOCore

/// A gateway request read straight from a connection's bytes, before HTTP
/// decoding, for the gateway's fast path: one whole request at the start of
/// the bytes, `METHOD /target HTTP/1.1` with single spaces, at most
/// ``maxFields`` header lines `name: value` of visible ASCII
/// (``RawHTTPHead/Field``), a head of at most ``maxHead`` bytes, and a body
/// only by one plain `Content-Length` (digits, at most `maxBody`); no
/// `Transfer-Encoding`, `Expect` or `Upgrade`, and `Connection` only as
/// `keep-alive`. Whatever follows the request (a pipelined next one) is
/// neither read nor refused.
///
/// Anything else, or anything this scan is unsure of, is ``Scan/unsure``: the
/// bytes go to the HTTP decoder, which reads them as it always did and answers
/// or refuses them as it always did. So the scan only has to be right about
/// what it accepts: every request it accepts is read exactly as the decoder
/// would read it, and nothing that could be read two ways (bare CR or LF,
/// obs-fold, blanks around a field name, two lengths, a length with a sign)
/// is accepted.
struct RawGatewayRequest {
    /// One header field as sent.
    struct Field {
        /// The name, lowercased.
        var name: String
        /// The value (no surrounding blanks: the scan accepts none at the end, and skips those after the colon).
        var value: String
        /// The whole line `Name: value` as sent, without its CRLF: offsets from the buffer's readerIndex.
        var line: Range<Int>
    }

    var method: String
    /// The request target as sent (origin form: starts with `/`).
    var target: String
    var fields: [Field]
    /// The value of the one `Content-Length` field, if any.
    var contentLength: Int?
    /// Bytes of the head, through its final empty line.
    var headLength: Int
    /// Head and body: where the next request starts.
    var totalLength: Int

    enum Scan {
        /// Not all of the head, or not all of the body, has arrived yet (and what has arrived is within the limits).
        case incomplete
        /// Anything this scan does not accept: the bytes go to the HTTP decoder, which reads them as it always did.
        case unsure
        /// A head the scan accepts whose body is longer than `maxBody`: the
        /// decoder reads it (streamed to the slow path); the next request
        /// starts `total` bytes after this one's start.
        case bodyTooLarge(total: Int)
        case request(RawGatewayRequest)
    }

    static let maxHead = 16 * 1024
    static let maxFields = 100

    /// The request at the start of `buffer`'s readable bytes. `maxBody`: a body longer than this is `.bodyTooLarge`.
    ///
    /// One pass over the head: the fields' strings are made as their lines
    /// are read (a request usually arrives whole in one read), and dropped if
    /// a later line is unsure or the body is not all there yet.
    static func scan(_ buffer: ByteBuffer, maxBody: Int) -> Scan {
        buffer.withUnsafeReadableBytes { all -> Scan in
            // The head must end within maxHead bytes: nothing past them is searched.
            let window = UnsafeRawBufferPointer(rebasing: all.prefix(maxHead))
            guard let headLength = RawHTTPHead.headEnd(window, from: 0) else {
                // A decoder may end a head with bare LFs: waiting for a CRLF
                // that never comes would stall a request it reads at once.
                return all.count >= maxHead || hasBareLF(window) ? .unsure : .incomplete
            }
            let bytes = UnsafeRawBufferPointer(rebasing: all.prefix(headLength))
            var lines = RawHTTPHead.Lines(bytes, end: headLength - 2)
            guard let first = lines.next(), let requestLine = Self.requestLine(bytes, first) else { return .unsure }

            var fields: [Field] = []
            fields.reserveCapacity(16)
            var contentLength: Int?
            var tooLarge = false
            while let line = lines.next() {
                // Lines are split on CRLF only, so a bare CR or LF stays in its
                // line, where Field refuses it: neither is a token byte, nor
                // visible ASCII or a blank in a value (obs-fold too: a line
                // that starts with a blank has no token before its colon).
                guard fields.count < maxFields, let field = RawHTTPHead.Field(bytes, line), !field.is(anyOf: refused) else { return .unsure }
                if field.is(connection) {
                    guard equalsIgnoringCase(bytes, field.value, keepAlive) else { return .unsure }
                } else if field.is(contentLengthName) {
                    guard contentLength == nil, let length = Self.length(bytes, field.value) else { return .unsure }
                    contentLength = length
                    tooLarge = length > maxBody
                }
                fields.append(Field(name: string(bytes, field.name, lowercased: true), value: string(bytes, field.value), line: line))
            }

            let totalLength = headLength + (contentLength ?? 0)
            if tooLarge { return .bodyTooLarge(total: totalLength) }
            guard all.count >= totalLength else { return .incomplete }
            return .request(RawGatewayRequest(
                method: string(bytes, requestLine.method), target: string(bytes, requestLine.target), fields: fields,
                contentLength: contentLength, headLength: headLength, totalLength: totalLength))
        }
    }

    private static let version = Array("HTTP/1.1".utf8)
    private static let refused = ["transfer-encoding", "expect", "upgrade"].map { Array($0.utf8) }
    private static let connection = Array("connection".utf8)
    private static let keepAlive = Array("keep-alive".utf8)
    private static let contentLengthName = Array("content-length".utf8)

    /// The methods an API request uses. The decoder (llhttp) knows a fixed,
    /// case-sensitive list and reads some of them its own way (`CONNECT` has
    /// no body; an unknown method is an error that closes the connection):
    /// anything else is the decoder's to read, never the scan's.
    private static let methods = FastAdmission.methods.map { Array($0.utf8) }

    /// `METHOD SP target SP HTTP/1.1`: the method's and the target's ranges.
    private static func requestLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> (method: Range<Int>, target: Range<Int>)? {
        guard let space = line.first(where: { bytes[$0] == 0x20 }), space > line.lowerBound,
              methods.contains(where: { bytes[line.lowerBound..<space].elementsEqual($0) })
        else { return nil }
        let targetStart = space + 1
        // The target runs to the next space; each of its bytes visible ASCII.
        var end = targetStart
        while end < line.upperBound, bytes[end] != 0x20 {
            guard (0x21...0x7E).contains(bytes[end]) else { return nil }
            end += 1
        }
        guard end > targetStart, bytes[targetStart] == UInt8(ascii: "/"), end < line.upperBound,
              bytes[(end + 1)..<line.upperBound].elementsEqual(version)
        else { return nil }
        return (line.lowerBound..<space, targetStart..<end)
    }

    /// 1 to 18 ASCII digits (no sign, no blanks: the field's value has none around it).
    private static func length(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) -> Int? {
        guard (1...18).contains(value.count) else { return nil }
        var length = 0
        for byte in bytes[value] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            length = length * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return length
    }

    /// Whether `bytes[range]` is `lowercased`, ignoring ASCII case.
    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercased: [UInt8]) -> Bool {
        range.count == lowercased.count && zip(bytes[range], lowercased).allSatisfy { byte, expected in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == expected : byte == expected
        }
    }

    /// Whether an LF not preceded by a CR is among `bytes`.
    private static func hasBareLF(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A, i == 0 || bytes[i - 1] != 0x0D { return true }
            i += 1
        }
        return false
    }

    /// The bytes as a String (ASCII, as the scan accepted them), made in one go.
    private static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, lowercased: Bool = false) -> String {
        String(unsafeUninitializedCapacity: range.count) { buffer in
            var i = 0
            for byte in bytes[range] {
                buffer[i] = lowercased && (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
                i += 1
            }
            return i
        }
    }
}

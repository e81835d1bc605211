import NIOCore

/// The hot request as the bytes of one read, for ``RawKeyReads``: exactly one
/// whole request, `GET <target> HTTP/1.1`, header lines `name: value` of
/// visible ASCII, no body and none of the fields that change how a request is
/// read (`Content-Length`, `Transfer-Encoding`, `Connection`, `Expect`,
/// `Upgrade`), at most 8 KiB and 64 lines, the target in ``HotKeyRequest``'s
/// plain form. Anything else, or anything this reader is unsure of, is left to
/// the HTTP decoder, which reads it as it always did.
enum RawKeyRequest {
    static let maxSize = 8 * 1024
    static let maxLines = 64

    /// The request and its purpose (`x-keywarden-purpose`, as
    /// `HTTPFields.keywardenPurpose` reads it), or nil.
    static func parse(_ buffer: ByteBuffer) -> (request: HotKeyRequest, purpose: String)? {
        guard buffer.readableBytes <= maxSize else { return nil }
        return buffer.withUnsafeReadableBytes { bytes -> (HotKeyRequest, String)? in
            guard let headEnd = headEnd(bytes, from: 0), headEnd == bytes.count else { return nil }
            var lines = Lines(bytes, end: headEnd - 2)
            guard let requestLine = lines.next(), requestLine.count > get.count + version.count, bytes[requestLine].starts(with: get),
                  bytes[requestLine.upperBound - version.count..<requestLine.upperBound].elementsEqual(version),
                  let request = HotKeyRequest(target: bytes[requestLine.lowerBound + get.count..<requestLine.upperBound - version.count])
            else { return nil }
            var purpose: String?
            var count = 0
            while let line = lines.next() {
                count += 1
                guard count <= maxLines, let field = Field(bytes, line) else { return nil }
                if field.is(anyOf: refused) { return nil }
                if field.is(purposeName) {
                    guard purpose == nil, field.value.count <= 120 else { return nil }
                    purpose = String(decoding: bytes[field.value], as: UTF8.self)
                }
            }
            return (request, purpose ?? "served")
        }
    }

    /// Whether `buffer` is whole requests without bodies and nothing more,
    /// so that the HTTP decoder holds no part of a request once it read them.
    static func isWholeRequests(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { bytes in
            var start = 0
            while start < bytes.count {
                guard let end = headEnd(bytes, from: start) else { return false }
                var lines = Lines(bytes, start: start, end: end - 2)
                guard let requestLine = lines.next(), !bytes[requestLine].starts(with: connect) else { return false }
                while let line = lines.next() {
                    // An unreadable line may hide a body: unsure.
                    guard let field = Field(bytes, line), !field.is(anyOf: bodyFields) else { return false }
                }
                start = end
            }
            return true
        }
    }

    private static let get = Array("GET ".utf8)
    private static let connect = Array("CONNECT ".utf8)
    private static let version = Array(" HTTP/1.1".utf8)
    private static let purposeName = Array("x-keywarden-purpose".utf8)
    private static let refused = ["content-length", "transfer-encoding", "connection", "expect", "upgrade"].map { Array($0.utf8) }
    private static let bodyFields = ["content-length", "transfer-encoding", "upgrade"].map { Array($0.utf8) }

    /// The index just past the first `\r\n\r\n` at or after `start`.
    private static func headEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        while i + 3 < bytes.count {
            if bytes[i] == 0x0D, bytes[i + 1] == 0x0A, bytes[i + 2] == 0x0D, bytes[i + 3] == 0x0A { return i + 4 }
            i += 1
        }
        return nil
    }

    /// The `\r\n`-separated lines of a head (without the final empty line).
    private struct Lines {
        let bytes: UnsafeRawBufferPointer
        var position: Int
        let end: Int

        init(_ bytes: UnsafeRawBufferPointer, start: Int = 0, end: Int) {
            self.bytes = bytes
            position = start
            self.end = end
        }

        mutating func next() -> Range<Int>? {
            guard position < end else { return nil }
            var i = position
            while i + 1 < end, !(bytes[i] == 0x0D && bytes[i + 1] == 0x0A) { i += 1 }
            let line = position..<(i + 1 < end ? i : end)
            position = i + 2
            return line
        }
    }

    /// `name: value`: a token, a colon, optional blanks, then visible ASCII
    /// and inner blanks; none at the end (the decoder's trimming is not guessed).
    private struct Field {
        let bytes: UnsafeRawBufferPointer
        let name: Range<Int>
        let value: Range<Int>

        init?(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) {
            self.bytes = bytes
            guard let colon = line.first(where: { bytes[$0] == UInt8(ascii: ":") }), colon > line.lowerBound,
                  bytes[line.lowerBound..<colon].allSatisfy(Self.isTokenByte)
            else { return nil }
            var start = colon + 1
            while start < line.upperBound, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
            guard bytes[start..<line.upperBound].allSatisfy({ (0x20..<0x7F).contains($0) }),
                  start == line.upperBound || bytes[line.upperBound - 1] != 0x20
            else { return nil }
            name = line.lowerBound..<colon
            value = start..<line.upperBound
        }

        func `is`(_ lowercased: [UInt8]) -> Bool {
            name.count == lowercased.count && zip(bytes[name], lowercased).allSatisfy { byte, expected in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == expected : byte == expected
            }
        }

        func `is`(anyOf names: [[UInt8]]) -> Bool { names.contains { self.is($0) } }

        static func isTokenByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
                 UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
                 UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
                true
            default:
                false
            }
        }
    }
}

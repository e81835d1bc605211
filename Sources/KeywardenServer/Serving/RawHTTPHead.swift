/// Byte-level reading of an HTTP/1.1 head, for the readers that take whole
/// requests straight from a connection's bytes, before HTTP decoding
/// (``RawKeyRequest`` for the agent's key reads, ``RawGatewayRequest`` for the
/// gateway). Each accepts only what it reads exactly as the HTTP decoder
/// would, and leaves anything else to the decoder.
enum RawHTTPHead {
    /// The index just past the first `\r\n\r\n` at or after `start`.
    static func headEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        while i + 3 < bytes.count {
            if bytes[i] == 0x0D, bytes[i + 1] == 0x0A, bytes[i + 2] == 0x0D, bytes[i + 3] == 0x0A { return i + 4 }
            i += 1
        }
        return nil
    }

    /// The `\r\n`-separated lines of a head (without the final empty line).
    struct Lines {
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
    struct Field {
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

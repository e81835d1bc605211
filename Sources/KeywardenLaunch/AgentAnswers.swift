/// The two answers of the agent's `delivery.environment` operation the
/// launcher reads, decoded without Foundation (whose JSON decoder alone
/// costs the launcher more than its whole request): the variables
/// `[{"name": "…", "value": "<base64>"}, …]`, and the error document
/// `{"error": "…", "kind": "…"}`. Strict: anything else is nil. The full
/// command line reads the same answers with `JSONDecoder` into
/// KeywardenCore's types (`EnvironmentVariable`, `ServiceFailure`).
public enum AgentAnswers {
    /// One delivered variable. The value's bytes are the caller's to wipe.
    public struct Variable {
        public var name: String
        public var value: [UInt8]
    }

    /// The variables of a `delivery.environment` answer, nil when it is not one.
    /// Every intermediate copy of a value (its base64 text) is wiped.
    public static func variables(_ body: UnsafeRawBufferPointer) -> [Variable]? {
        var reader = JSONReader(body)
        var variables: [Variable] = []
        var ok = false
        defer {
            if !ok { for index in variables.indices { wipe(&variables[index].value) } }
        }
        guard reader.consume(UInt8(ascii: "[")) else { return nil }
        if !reader.consume(UInt8(ascii: "]")) {
            repeat {
                guard reader.consume(UInt8(ascii: "{")) else { return nil }
                var name: String?
                var value: [UInt8]?
                if !reader.consume(UInt8(ascii: "}")) {
                    // Any failure below returns nil; a value read so far is wiped first.
                    var readable = true
                    repeat {
                        guard let key = reader.string(), reader.consume(UInt8(ascii: ":")) else { readable = false; break }
                        switch String(decoding: key, as: UTF8.self) {
                        case "name":
                            guard name == nil, let text = reader.string() else { readable = false; break }
                            name = String(decoding: text, as: UTF8.self)
                        case "value":
                            guard value == nil, var text = reader.string() else { readable = false; break }
                            value = Base64.decode(text)
                            wipe(&text)
                            if value == nil { readable = false }
                        default:
                            if !reader.skipValue() { readable = false }
                        }
                    } while readable && reader.consume(UInt8(ascii: ","))
                    if !readable || !reader.consume(UInt8(ascii: "}")) {
                        if value != nil { wipe(&value!) }
                        return nil
                    }
                }
                guard let name, let value else {
                    if value != nil { wipe(&value!) }
                    return nil
                }
                variables.append(Variable(name: name, value: value))
            } while reader.consume(UInt8(ascii: ","))
            guard reader.consume(UInt8(ascii: "]")) else { return nil }
        }
        guard reader.atEnd else { return nil }
        ok = true
        return variables
    }

    /// The agent's error document: its message and kind (`notFound`, …).
    public static func failure(_ body: UnsafeRawBufferPointer) -> (message: String, kind: String?)? {
        var reader = JSONReader(body)
        var message: String?
        var kind: String?
        guard reader.consume(UInt8(ascii: "{")) else { return nil }
        if !reader.consume(UInt8(ascii: "}")) {
            repeat {
                guard let key = reader.string(), reader.consume(UInt8(ascii: ":")) else { return nil }
                switch String(decoding: key, as: UTF8.self) {
                case "error":
                    guard let text = reader.string() else { return nil }
                    message = String(decoding: text, as: UTF8.self)
                case "kind":
                    if reader.consumeNull() { continue }
                    guard let text = reader.string() else { return nil }
                    kind = String(decoding: text, as: UTF8.self)
                default:
                    guard reader.skipValue() else { return nil }
                }
            } while reader.consume(UInt8(ascii: ","))
            guard reader.consume(UInt8(ascii: "}")) else { return nil }
        }
        guard reader.atEnd, let message else { return nil }
        return (message, kind)
    }

    static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}

/// A strict reader of JSON text (RFC 8259), enough for the agent's answers:
/// strings (with every escape), and skipping any other value.
struct JSONReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool {
        mutating get {
            skipWhitespace()
            return offset == bytes.count
        }
    }

    private mutating func skipWhitespace() {
        while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
    }

    private mutating func peek() -> UInt8? {
        skipWhitespace()
        return offset < bytes.count ? bytes[offset] : nil
    }

    /// Consumes `byte` (after whitespace) when it is next.
    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        offset += 1
        return true
    }

    mutating func consumeNull() -> Bool {
        guard peek() == UInt8(ascii: "n"), literal("null") else { return false }
        return true
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard offset + count <= bytes.count else { return false }
        for index in 0..<count where bytes[offset + index] != word.utf8Start[index] { return false }
        offset += count
        return true
    }

    /// A string's UTF-8 bytes, escapes resolved; nil when the next value is
    /// not a well-formed string.
    mutating func string() -> [UInt8]? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        var out: [UInt8] = []
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                return out
            case UInt8(ascii: "\\"):
                guard offset < bytes.count else { return nil }
                let escape = bytes[offset]
                offset += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A surrogate pair: the low half must follow.
                        guard literal("\\u"), let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        return nil
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    return nil
                }
            case 0..<0x20:
                return nil  // control characters must be escaped
            default:
                out.append(byte)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard offset + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            offset += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Skips one value of any kind; false when it is malformed.
    mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 32, let next = peek() else { return false }
        switch next {
        case UInt8(ascii: "\""):
            guard var text = string() else { return false }
            AgentAnswers.wipe(&text)
            return true
        case UInt8(ascii: "{"):
            offset += 1
            if consume(UInt8(ascii: "}")) { return true }
            repeat {
                guard string() != nil, consume(UInt8(ascii: ":")), skipValue(depth: depth + 1) else { return false }
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            offset += 1
            if consume(UInt8(ascii: "]")) { return true }
            repeat {
                guard skipValue(depth: depth + 1) else { return false }
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "]"))
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default:
            // A number: -?digits[.digits][e[+-]digits], checked loosely but
            // completely consumed.
            let start = offset
            while offset < bytes.count, "+-.eE0123456789".utf8.contains(bytes[offset]) { offset += 1 }
            return offset > start
        }
    }
}

/// Standard base64 (RFC 4648 §4, with padding), as Foundation writes it.
enum Base64 {
    static func decode(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var index = 0
        while index < text.count {
            var quad: UInt32 = 0
            var padding = 0
            for position in 0..<4 {
                let byte = text[index + position]
                let sextet: UInt32
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): sextet = UInt32(byte - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): sextet = UInt32(byte - UInt8(ascii: "a") + 26)
                case UInt8(ascii: "0")...UInt8(ascii: "9"): sextet = UInt32(byte - UInt8(ascii: "0") + 52)
                case UInt8(ascii: "+"): sextet = 62
                case UInt8(ascii: "/"): sextet = 63
                case UInt8(ascii: "="):
                    // Only at the end of the last quad.
                    guard index + 4 == text.count, position >= 2 else { AgentAnswers.wipe(&out); return nil }
                    padding += 1
                    sextet = 0
                default:
                    AgentAnswers.wipe(&out)
                    return nil
                }
                if padding > 0 && byte != UInt8(ascii: "=") { AgentAnswers.wipe(&out); return nil }
                quad = quad << 6 | sextet
            }
            out.append(UInt8(truncatingIfNeeded: quad >> 16))
            if padding < 2 { out.append(UInt8(truncatingIfNeeded: quad >> 8)) }
            if padding < 1 { out.append(UInt8(truncatingIfNeeded: quad)) }
            index += 4
        }
        return out
    }
}

/// The two answers of the agent's `delivery.environment` operation the
/// launcher reads, decoded without Foundation (whose JSON decoder alone
/// costs the launcher more than its whole request): the variables
/// `[{"name": "…", "value": "<base64>"}, …]`, and the error document
/// `{"error": "…", "kind": "…"}`, parsed with ``JSONValue`` (the parser of
/// the validation rules). Anything else is nil. The full command line reads
/// the same answers with `JSONDecoder` into KeywardenCore's types
/// (`EnvironmentVariable`, `ServiceFailure`); `AgentAnswersTests` holds the
/// two readings together.
public enum AgentAnswers {
    /// One delivered variable. The value's bytes are the caller's to wipe.
    public struct Variable {
        public var name: String
        public var value: [UInt8]
    }

    /// The variables of a `delivery.environment` answer, nil when it is not
    /// one. (The parsed text of the base64 values is Swift strings, as it is
    /// in `JSONDecoder`: the launcher execs or exits right after.)
    public static func variables(_ body: UnsafeRawBufferPointer) -> [Variable]? {
        guard case .array(let items)? = JSONValue.parse(body) else { return nil }
        var variables: [Variable] = []
        variables.reserveCapacity(items.count)
        for item in items {
            guard case .object(let members) = item, case .string(let name)? = members["name"], case .string(let text)? = members["value"],
                  let value = Base64.decode(Array(text.utf8)) else {
                for index in variables.indices { wipe(&variables[index].value) }
                return nil
            }
            variables.append(Variable(name: name, value: value))
        }
        return variables
    }

    /// The agent's error document: its message and kind (`notFound`, …).
    public static func failure(_ body: UnsafeRawBufferPointer) -> (message: String, kind: String?)? {
        guard case .object(let members)? = JSONValue.parse(body), case .string(let message)? = members["error"] else { return nil }
        switch members["kind"] {
        case nil, .null?: return (message, nil)
        case .string(let kind)?: return (message, kind)
        default: return nil
        }
    }

    static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
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

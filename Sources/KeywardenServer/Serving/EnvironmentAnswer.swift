import Hummingbird
import KeywardenCore

/// The answer of `delivery.environment` (`run`, `export` and `inject` through
/// the agent): `[{"name","value"}]`, each value in base64, byte for byte what
/// `JSONEncoder` gives with sorted keys, written by hand into one buffer.
///
/// `JSONEncoder` needs each value as a base64 `String` (which nothing wipes)
/// and builds the whole document in memory before its bytes: for 10,000
/// values that was tens of MiB at once in the agent (scripts/bench.sh memory).
/// Here each value goes from guarded memory straight into the answer.
enum EnvironmentAnswer {
    static func response(_ variables: [EnvironmentVariable]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: json(variables)))
    }

    /// The answer's bytes.
    static func json(_ variables: [EnvironmentVariable]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(variables.reduce(2) { $0 + 24 + $1.name.utf8.count + ($1.value.count + 2) / 3 * 4 })
        buffer.writeStaticString("[")
        for (index, variable) in variables.enumerated() {
            buffer.writeStaticString(index == 0 ? #"{"name":""# : #",{"name":""#)
            ServedKey.appendEscaped(variable.name.utf8, to: &buffer)
            buffer.writeStaticString(#"","value":""#)
            variable.value.withUnsafeBytes { appendBase64($0, to: &buffer) }
            buffer.writeStaticString(#""}"#)
        }
        buffer.writeStaticString("]")
        return buffer
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding, no line breaks (as `Data.base64EncodedString()`).
    static func appendBase64(_ bytes: UnsafeRawBufferPointer, to buffer: inout ByteBuffer) {
        var index = 0
        while index + 3 <= bytes.count {
            let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            buffer.writeMultipleIntegers(alphabet[Int(group >> 18)], alphabet[Int(group >> 12 & 63)], alphabet[Int(group >> 6 & 63)], alphabet[Int(group & 63)])
            index += 3
        }
        switch bytes.count - index {
        case 1:
            let group = UInt32(bytes[index]) << 16
            buffer.writeMultipleIntegers(alphabet[Int(group >> 18)], alphabet[Int(group >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "="))
        case 2:
            let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            buffer.writeMultipleIntegers(alphabet[Int(group >> 18)], alphabet[Int(group >> 12 & 63)], alphabet[Int(group >> 6 & 63)], UInt8(ascii: "="))
        default:
            break
        }
    }
}

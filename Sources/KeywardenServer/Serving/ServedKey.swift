import Hummingbird
import KeywardenCore

/// A key as served, value included: `{"env","fingerprint","id","provider",
/// "scope","value"}`, the same JSON `JSONEncoder` gives with sorted keys.
///
/// Written by hand into one buffer, for two reasons. `GET /v1/keys/{provider}`
/// is the agent's hot path (scripts/bench.sh agent, issue 12): measured
/// alone (swiftc -O, the 2-core test machine, 200,000 answers), JSONEncoder
/// with a `String` of the value takes 5–7.5 µs per answer and this 3–4 µs.
/// And JSONEncoder needs that `String` copy of the value, which nothing
/// wipes; this writes the value's bytes straight from guarded memory.
/// The agent's cache keeps these bytes (``ActiveKeyCache``), so a key read
/// from the cache is a copy, not a rendering.
enum ServedKey {
    static func response(_ key: KeyInfo, _ value: Secret) -> Response {
        response(json(key, value))
    }

    /// The answer for the bytes `json` wrote.
    static func response(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// The `agent.serve` event of `key` served for `scope` to `actor`, who
    /// said it reads it for `purpose`: the same on the router and on the
    /// event loop (``HotKeyReads``), so that repeats of one serve are one event.
    static func event(_ key: ServedKeyFacts, scope: String, purpose: String, actor: AuditActor) -> AuditDraft {
        AuditDraft(action: "agent.serve", provider: key.provider, scope: scope, keyID: key.id, fingerprint: key.fingerprint, outcome: "ok",
                   detail: "\(purpose): \(key.env)\(key.scope != scope ? " (from \(key.scope))" : "")", actor: actor)
    }

    /// The answer's bytes.
    static func json(_ key: KeyInfo, _ value: Secret) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(256 + value.count)
        func field(_ name: String, _ text: some Collection<UInt8>, last: Bool = false) {
            buffer.writeString("\"\(name)\":\"")
            appendEscaped(text, to: &buffer)
            buffer.writeString(last ? "\"" : "\",")
        }
        buffer.writeString("{")
        field("env", key.env.utf8)
        field("fingerprint", key.fingerprint.utf8)
        field("id", key.id.utf8)
        field("provider", key.provider.utf8)
        field("scope", key.scope.utf8)
        value.withUnsafeBytes { field("value", $0, last: true) }
        buffer.writeString("}")
        return buffer
    }

    /// JSON string escaping of UTF-8 bytes.
    static func appendEscaped(_ bytes: some Collection<UInt8>, to buffer: inout ByteBuffer) {
        let hex = Array("0123456789abcdef".utf8)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeString("\\\\")
            case 0x0A: buffer.writeString("\\n")
            case 0x0D: buffer.writeString("\\r")
            case 0x09: buffer.writeString("\\t")
            case 0..<0x20:
                buffer.writeString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xf)])
            default: buffer.writeInteger(byte)
            }
        }
    }
}

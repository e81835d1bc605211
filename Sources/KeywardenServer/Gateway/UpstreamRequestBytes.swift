import HTTPTypes
import KeywardenCore
import KeywardenCrypto
import NIOCore

/// The fast path's request to the provider, written as bytes: its upstream
/// connections carry no HTTP codec (``UpstreamConnections``). The same
/// choice of fields as the slow path's (``UpstreamRequest/headers(from:provider:key:)``):
/// the client's fields but the hop-by-hop ones, its credential and
/// Keywarden's own, then the provider's required fields the client did not
/// send, then the key.
///
/// The fields that do not change between attempts are written once per
/// request (``fields``); each attempt adds the request line, the key and
/// the body.
struct UpstreamRequestBytes {
    /// `host`, then the client's forwarded fields and the provider's, each line with its CRLF.
    let fields: ByteBuffer

    /// From a request the HTTP decoder read (``FastForwarding``).
    init(host: String, client: HTTPFields, provider: ProviderDefinition) {
        let connectionNamed = UpstreamRequest.namedByConnection(client.lazy.filter { $0.name == .connection }.map(\.value))
        var buffer = Self.start(host: host)
        for field in client where UpstreamRequest.forwards(field.name.canonicalName, connectionNamed: connectionNamed) {
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        Self.addRequired(of: provider, to: &buffer) { name in client.contains { $0.name.canonicalName == name } }
        fields = buffer
    }

    /// From a request read before decoding (``RawForwarding``): its lines are copied as sent.
    init(host: String, client: RawGatewayRequest, bytes: ByteBuffer, provider: ProviderDefinition) {
        let connectionNamed = UpstreamRequest.namedByConnection(client.fields.lazy.filter { $0.name == "connection" }.map(\.value))
        var buffer = Self.start(host: host)
        for field in client.fields where UpstreamRequest.forwards(field.name, connectionNamed: connectionNamed) {
            var line = bytes.getSlice(at: bytes.readerIndex + field.line.lowerBound, length: field.line.count)!
            buffer.writeBuffer(&line)
            buffer.writeStaticString("\r\n")
        }
        Self.addRequired(of: provider, to: &buffer) { name in client.fields.contains { $0.name == name } }
        fields = buffer
    }

    private static func start(host: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(1024)
        buffer.writeStaticString("host: ")
        buffer.writeString(host)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// The provider's required fields (`anthropic-version`) the client did not send.
    private static func addRequired(of provider: ProviderDefinition, to buffer: inout ByteBuffer, sent: (String) -> Bool) {
        for (name, value) in provider.headers.sorted(by: { $0.key < $1.key }) where !sent(name.lowercased()) {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
    }

    /// One attempt's request: `method target HTTP/1.1`, the fields, the key
    /// where `provider` takes it, `content-length` when there is a body,
    /// the body. nil when the key has a byte a field or a query cannot carry
    /// (a control character, a space): it is never sent.
    ///
    /// The key is copied from its ``SecureBytes`` into the buffer, never into
    /// a `String` (except in a query, percent-encoded); the caller wipes the
    /// buffer once the exchange ends (``UpstreamExchange``).
    func attempt(method: String, target: String, provider: ProviderDefinition, key: SecureBytes, body: ByteBuffer?) -> ByteBuffer? {
        let carriable = key.withUnsafeBytes { bytes in !bytes.isEmpty && bytes.allSatisfy { (0x21...0x7E).contains($0) } }
        guard carriable else { return nil }
        let target = provider.auth.style == .query ? UpstreamRequest.appendingQueryKey(target, provider: provider, key: key) : target
        let length = body.map { String($0.readableBytes) }
        // Exactly the bytes written: a buffer that grew would leave the key in the freed block.
        let keyLine = switch provider.auth.style {
        case .bearer: "authorization: Bearer ".utf8.count + key.count + 2
        case .header: (provider.auth.name ?? "x-api-key").utf8.count + 2 + key.count + 2
        case .query: 0
        }
        let size = method.utf8.count + 1 + target.utf8.count + 11 + fields.readableBytes + keyLine
            + (length.map { 16 + $0.utf8.count + 4 } ?? 2) + (body?.readableBytes ?? 0)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(size)
        defer { assert(buffer.readableBytes == size, "the request's size was misjudged") }
        buffer.writeString(method)
        buffer.writeStaticString(" ")
        buffer.writeString(target)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        buffer.writeImmutableBuffer(fields)
        switch provider.auth.style {
        case .bearer:
            buffer.writeStaticString("authorization: Bearer ")
            key.withUnsafeBytes { _ = buffer.writeBytes($0) }
            buffer.writeStaticString("\r\n")
        case .header:
            buffer.writeString(provider.auth.name ?? "x-api-key")
            buffer.writeStaticString(": ")
            key.withUnsafeBytes { _ = buffer.writeBytes($0) }
            buffer.writeStaticString("\r\n")
        case .query:
            break
        }
        if let body, let length {
            buffer.writeStaticString("content-length: ")
            buffer.writeString(length)
            buffer.writeStaticString("\r\n\r\n")
            buffer.writeImmutableBuffer(body)
        } else {
            buffer.writeStaticString("\r\n")
        }
        return buffer
    }
}

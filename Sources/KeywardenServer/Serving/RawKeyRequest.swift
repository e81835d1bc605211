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
            guard let headEnd = RawHTTPHead.headEnd(bytes, from: 0), headEnd == bytes.count else { return nil }
            var lines = RawHTTPHead.Lines(bytes, end: headEnd - 2)
            guard let requestLine = lines.next(), requestLine.count > get.count + version.count, bytes[requestLine].starts(with: get),
                  bytes[requestLine.upperBound - version.count..<requestLine.upperBound].elementsEqual(version),
                  let request = HotKeyRequest(target: bytes[requestLine.lowerBound + get.count..<requestLine.upperBound - version.count])
            else { return nil }
            var purpose: String?
            var count = 0
            while let line = lines.next() {
                count += 1
                guard count <= maxLines, let field = RawHTTPHead.Field(bytes, line) else { return nil }
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
                guard let end = RawHTTPHead.headEnd(bytes, from: start) else { return false }
                var lines = RawHTTPHead.Lines(bytes, start: start, end: end - 2)
                guard let requestLine = lines.next(), !bytes[requestLine].starts(with: connect) else { return false }
                while let line = lines.next() {
                    // An unreadable line may hide a body: unsure.
                    guard let field = RawHTTPHead.Field(bytes, line), !field.is(anyOf: bodyFields) else { return false }
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
}

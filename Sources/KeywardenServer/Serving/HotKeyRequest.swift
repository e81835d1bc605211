import HTTPTypes

/// `GET /v1/keys/{provider}?scope=S` in its plainest form, the one programs
/// send in a loop: a provider of letters, digits, `.`, `_`, `-`; `scope` the
/// only query parameter, of those characters, `~` and `/`; no body and no
/// `Connection` header. Only these are answered on the event loop
/// (``HotKeyReads``); for them the router would see exactly these strings,
/// as nothing in them is percent-encoded. Any other form goes to the router.
struct HotKeyRequest: Equatable {
    let provider: String
    let scope: String

    private static let prefix = Array("/v1/keys/".utf8)
    private static let query = Array("?scope=".utf8)

    init?(_ head: HTTPRequest) {
        guard head.method == .get, let path = head.path else { return nil }
        let fields = head.headerFields
        guard !fields.contains(.contentLength), !fields.contains(.transferEncoding), !fields.contains(.connection),
              !fields.contains(.expect), !fields.contains(.upgrade)
        else { return nil }
        guard let request = path.utf8.withContiguousStorageIfAvailable({ Self(target: $0) }) ?? Self(target: Array(path.utf8)) else { return nil }
        self = request
    }

    /// The request target (`/v1/keys/anthropic?scope=prod`) in the plain form, or nil.
    init?(target: some RandomAccessCollection<UInt8>) {
        guard let (provider, scope) = Self.parse(target) else { return nil }
        self.provider = provider
        self.scope = scope
    }

    private static func parse(_ bytes: some RandomAccessCollection<UInt8>) -> (String, String)? {
        guard bytes.starts(with: prefix) else { return nil }
        var index = bytes.index(bytes.startIndex, offsetBy: prefix.count)
        let providerStart = index
        while index < bytes.endIndex, isNameByte(bytes[index]) { index = bytes.index(after: index) }
        let providerEnd = index
        guard providerEnd > providerStart, bytes[providerEnd...].starts(with: query) else { return nil }
        let scopeStart = bytes.index(providerEnd, offsetBy: query.count)
        index = scopeStart
        while index < bytes.endIndex, isNameByte(bytes[index]) || bytes[index] == UInt8(ascii: "/") || bytes[index] == UInt8(ascii: "~") {
            index = bytes.index(after: index)
        }
        guard index == bytes.endIndex, index > scopeStart else { return nil }
        return (String(decoding: bytes[providerStart..<providerEnd], as: UTF8.self), String(decoding: bytes[scopeStart..<index], as: UTF8.self))
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}

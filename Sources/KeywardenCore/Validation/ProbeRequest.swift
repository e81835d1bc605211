import Foundation
import KeywardenCrypto
import NIOCore

/// One HTTP request to a provider, built from its definition and a key. The
/// key is not in `target` or `headers`: it stays in guarded memory
/// (`credential`) and is written straight from there into the request's bytes
/// when the request is sent over a verified connection.
public struct ProbeRequest: Sendable {
    public var scheme: String
    public var host: String
    public var port: Int
    /// Path and query, starting with `/`, without the key (safe to display).
    public var target: String
    public var method: String
    /// Every header except the one carrying the key; none is secret.
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The key and where the provider expects it.
    public var credential: ProbeCredential
    /// The user allowed plain `http://` to a host that is not loopback
    /// (`provider set --allow-insecure-http`).
    public var allowsInsecureHTTP: Bool

    /// `https://api.anthropic.com/v1/models` style, never with the key.
    public var displayURL: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return "\(scheme)://\(host)\(port == defaultPort ? "" : ":\(port)")\(target)"
    }

    /// Builds the probe request for `provider` carrying `key`. Refuses plain
    /// `http://` to a host that is not loopback unless the provider allows it,
    /// so a key never crosses the network unencrypted by accident.
    public static func make(provider: ProviderDefinition, key: SecureBytes) throws(KeywardenError) -> ProbeRequest {
        guard let probe = provider.probe else {
            throw KeywardenError(.invalidInput, "provider '\(provider.name)' has no probe request, so its keys cannot be checked; define one with `keywarden provider add … --probe-path PATH`")
        }
        guard let url = URLComponents(string: provider.baseURL), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else {
            throw KeywardenError(.invalidInput, "provider '\(provider.name)' has a malformed base URL '\(provider.baseURL)'; fix it with `keywarden provider set \(provider.name) --base-url URL`")
        }
        if scheme == "http", !LoopbackHost.contains(host), !provider.allowInsecureHTTP {
            throw KeywardenError.plainHTTPRefused(provider: provider.name, url: provider.baseURL)
        }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let basePath = url.percentEncodedPath.hasSuffix("/") ? String(url.percentEncodedPath.dropLast()) : url.percentEncodedPath
        let target = basePath + probe.path
        var headers: [(String, String)] = [("host", port == (scheme == "https" ? 443 : 80) ? host : "\(host):\(port)"),
                                           ("user-agent", "keywarden/0.1 (key check)"), ("accept", "application/json")]
        let placement: ProbeCredential.Placement = switch provider.auth.style {
        case .bearer: .header(name: "authorization", prefix: "Bearer ")
        case .header: .header(name: (provider.auth.name ?? "x-api-key").lowercased(), prefix: "")
        case .query: .query(name: provider.auth.name ?? "key")
        }
        for (name, value) in provider.headers.sorted(by: { $0.key < $1.key }) { headers.append((name.lowercased(), value)) }
        var body: [UInt8] = []
        if let text = probe.body {
            body = Array(text.utf8)
            headers.append(("content-type", "application/json"))
        }
        headers.append(("content-length", String(body.count)))
        return ProbeRequest(scheme: scheme, host: host, port: port, target: target, method: probe.method.uppercased(), headers: headers,
                            body: body, credential: ProbeCredential(placement: placement, value: key),
                            allowsInsecureHTTP: provider.allowInsecureHTTP)
    }
}

extension ProbeRequest {
    /// The same request carrying `key` instead: another key of the same
    /// provider, without building the request again.
    func carrying(_ key: SecureBytes) -> ProbeRequest {
        var request = self
        request.credential = ProbeCredential(placement: credential.placement, value: key)
        return request
    }
}

/// Each provider's probe request, built once for a run (its base URL parsed,
/// its headers laid out) and given each key in turn: building it per key
/// cost more than sending it.
struct ProbeRequestTemplates: Sendable {
    private let templates: [(definition: ProviderDefinition, request: Result<ProbeRequest, KeywardenError>)]

    init(_ definitions: some Sequence<ProviderDefinition>) {
        var built: [(definition: ProviderDefinition, request: Result<ProbeRequest, KeywardenError>)] = []
        let placeholder = SecureBytes(copying: [0])
        for definition in definitions where !built.contains(where: { Self.same($0.definition, definition) }) {
            built.append((definition, Result { () throws(KeywardenError) in try ProbeRequest.make(provider: definition, key: placeholder) }))
        }
        templates = built
    }

    /// The request that checks `item`'s key, or why there is none.
    func request(for item: KeyToCheck) -> Result<ProbeRequest, KeywardenError> {
        guard let template = templates.first(where: { Self.same($0.definition, item.provider) }) else {
            return Result { () throws(KeywardenError) in try ProbeRequest.make(provider: item.provider, key: item.value) }
        }
        return template.request.map { $0.carrying(item.value) }
    }

    private static func same(_ a: ProviderDefinition, _ b: ProviderDefinition) -> Bool { a.name == b.name && a == b }
}

/// A key on its way into a request: kept in `SecureBytes` and written into
/// the outgoing buffer without passing through a Swift `String`.
public struct ProbeCredential: Sendable {
    /// Where the key goes.
    public enum Placement: Sendable, Equatable {
        /// A header line `name: <prefix><key>` (`authorization: Bearer …`, `x-api-key: …`).
        case header(name: String, prefix: String)
        /// A query parameter `name=<key>`, percent-encoded.
        case query(name: String)
    }

    public var placement: Placement
    let value: SecureBytes

    /// Appends an HTTP/1.1 request head to `buffer`, with the key added where
    /// `placement` says: after `uri`'s query, or as one more header line.
    func writeHead(method: String, uri: String, headers: [(String, String)], into buffer: inout ByteBuffer) {
        buffer.writeString(method)
        buffer.writeStaticString(" ")
        buffer.writeString(uri)
        if case .query(let name) = placement {
            buffer.writeString(uri.contains("?") ? "&" : "?")
            buffer.writeString(Self.percentEncoded(name))
            buffer.writeStaticString("=")
            value.withUnsafeBytes { key in
                for byte in key { Self.writePercentEncoded(byte, into: &buffer) }
            }
        }
        buffer.writeStaticString(" HTTP/1.1\r\n")
        for (name, text) in headers {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        }
        if case .header(let name, let prefix) = placement {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(prefix)
            value.withUnsafeBytes { key in _ = buffer.writeBytes(key) }
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// RFC 3986 unreserved characters stay; every other byte becomes `%XX`.
    static func writePercentEncoded(_ byte: UInt8, into buffer: inout ByteBuffer) {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            buffer.writeInteger(byte)
        default:
            let digits = Array("0123456789ABCDEF".utf8)
            buffer.writeInteger(UInt8(ascii: "%"))
            buffer.writeInteger(digits[Int(byte >> 4)])
            buffer.writeInteger(digits[Int(byte & 0x0f)])
        }
    }

    static func percentEncoded(_ text: String) -> String {
        var buffer = ByteBufferAllocator().buffer(capacity: text.utf8.count * 3)
        for byte in text.utf8 { writePercentEncoded(byte, into: &buffer) }
        return buffer.readString(length: buffer.readableBytes) ?? text
    }
}

/// Host names and addresses that never leave the machine: the name
/// `localhost` exactly, 127.0.0.0/8 and `::1`. Plain HTTP to them keeps a key
/// on this host. `localhost.` (a fully qualified name) and other names that
/// may resolve to loopback are not loopback here: they are looked up through
/// DNS, whose answer anyone on the path can forge. And since even `localhost`
/// is a lookup, `ProbeClient` also checks the address it actually connected
/// to before writing a key over plain HTTP (`contains(address:)`).
public enum LoopbackHost {
    /// Whether `host` (a URL's host, with or without IPv6 brackets) is loopback.
    public static func contains(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" { return true }
        guard !name.hasSuffix("."), let address = try? SocketAddress(ipAddress: name, port: 0) else { return false }
        return contains(address: address)
    }

    /// Whether a connected socket's address is loopback (127.0.0.0/8, `::1`,
    /// or 127.0.0.0/8 mapped into IPv6).
    public static func contains(address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4): return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let v6):
            var actual = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &actual) { Array($0) }
            if bytes == Array(repeating: 0, count: 15) + [1] { return true }
            // ::ffff:127.x.y.z
            return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
        default: return false
        }
    }
}

extension KeywardenError {
    /// A plain `http://` base URL to a host that is not loopback, without `--allow-insecure-http`.
    public static func plainHTTPRefused(provider: String, url: String) -> KeywardenError {
        KeywardenError(.invalidInput, "refusing to send provider '\(provider)'s key over plain HTTP to '\(url)': anyone on the network path could read it; use an https:// base URL, or if this path is trusted run `keywarden provider set \(provider) --base-url \(url) --allow-insecure-http`")
    }
}

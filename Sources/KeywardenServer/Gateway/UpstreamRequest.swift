import Foundation
import HTTPTypes
import KeywardenCore
import KeywardenCrypto
import NIOHTTP1

/// Where a gateway request goes and what it carries: the provider's URL for
/// the client's path and query, the client's headers without its credential
/// and hop-by-hop fields, the provider's required headers, and the pool's key
/// where the provider expects it.
struct UpstreamRequest {
    var url: String
    var host: String
    var scheme: String
    var headers: HTTPHeaders

    /// Headers that describe one hop (RFC 9110 §7.6.1) or carry the client's
    /// credential (a Keywarden token): never forwarded.
    static let droppedRequestHeaders: Set<String> = [
        "host", "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "content-length", "expect", "proxy-authorization",
        "authorization", "x-api-key", "x-goog-api-key", "api-key",
    ]

    /// Headers of the provider's answer that describe its hop, not the answer.
    static let droppedResponseHeaders: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection",
        "proxy-authenticate", "content-length",
        // It would advertise the provider's HTTP/3 endpoint for the gateway's origin.
        "alt-svc",
    ]

    /// The provider's answer fields the client gets: all but ``droppedResponseHeaders``.
    static func responseFields(_ headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count + 3)
        for (name, value) in headers where !droppedResponseHeaders.contains(name.lowercased()) {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return fields
    }

    /// A provider's base URL, parsed once per pool snapshot: what every
    /// request's URL is built from. A refusal when the base URL cannot carry a key.
    struct Base: Sendable {
        var text: String
        var scheme: String
        var host: String
        /// The built-in base path (`/openai` for Groq), not doubled when a client sends it too.
        var prefix: String
        /// A plain `http` base parsed for the fast path's connections
        /// (``UpstreamAddress/target(of:baseText:)``), once per pool snapshot.
        var plainAddress: UpstreamAddress?

        init(provider: ProviderDefinition) throws(GatewayRefusal) {
            guard let base = URLComponents(string: provider.baseURL), let scheme = base.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  let host = base.host, !host.isEmpty
            else {
                throw GatewayRefusal(status: .badGateway, kind: "unexpected", "provider '\(provider.name)' has a malformed base URL; fix it with `keywarden provider set \(provider.name) --base-url URL`")
            }
            if scheme == "http", !LoopbackHost.contains(host), !provider.allowInsecureHTTP {
                throw GatewayRefusal(status: .badGateway, kind: "unexpected", KeywardenError.plainHTTPRefused(provider: provider.name, url: provider.baseURL).message, final: true)
            }
            let builtinPath = BuiltinProviders.named(provider.name).flatMap { URLComponents(string: $0.baseURL)?.percentEncodedPath } ?? base.percentEncodedPath
            prefix = builtinPath.hasSuffix("/") ? String(builtinPath.dropLast()) : builtinPath
            var text = provider.baseURL
            while text.hasSuffix("/") { text.removeLast() }
            self.text = text
            self.scheme = scheme
            self.host = host
            plainAddress = scheme == "http" ? UpstreamAddress(url: text) : nil
        }
    }

    /// The upstream URL for `remainder` (the client's path after `/{provider}`,
    /// as sent: percent-encoding kept) and `query`. The host always comes from
    /// the provider's base URL, so no path can redirect the key elsewhere.
    /// A path that starts with the built-in base path (`/openai` for Groq) is
    /// taken as the full path, so both spellings SDKs use reach the same URL.
    static func url(provider: ProviderDefinition, remainder: String, query: String?) throws(GatewayRefusal) -> (url: String, scheme: String, host: String) {
        try url(base: try Base(provider: provider), remainder: remainder, query: query)
    }

    static func url(base: Base, remainder: String, query: String?) throws(GatewayRefusal) -> (url: String, scheme: String, host: String) {
        guard isPathSafe(remainder) else {
            throw GatewayRefusal(status: .badRequest, kind: "invalidInput", "the request path has characters a URL path may not carry")
        }
        if let query, !isQuerySafe(query) {
            throw GatewayRefusal(status: .badRequest, kind: "invalidInput", "the request's query has characters a URL query may not carry")
        }
        var path = Substring(remainder)
        if !base.prefix.isEmpty, path == base.prefix || path.hasPrefix(base.prefix + "/") { path = path.dropFirst(base.prefix.count) }
        var url = base.text + path
        if let query, !query.isEmpty { url += "?" + query }
        return (url, base.scheme, base.host)
    }

    /// RFC 3986 path characters, with `%` only before two hex digits.
    static func isPathSafe(_ path: String) -> Bool {
        guard path.isEmpty || path.hasPrefix("/") else { return false }
        return isSafe(path.utf8, allowed: pathCharacters)
    }

    static func isQuerySafe(_ query: String) -> Bool {
        isSafe(query.utf8, allowed: queryCharacters)
    }

    /// Unreserved, sub-delims, `:` and `@` (RFC 3986 pchar), plus `/` (and `?` in a query): a table, as every request is checked.
    private static let pathCharacters = table("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/")
    private static let queryCharacters = table("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?")

    private static func table(_ characters: String) -> [Bool] {
        var table = [Bool](repeating: false, count: 256)
        for byte in characters.utf8 { table[Int(byte)] = true }
        return table
    }

    private static func isSafe(_ bytes: String.UTF8View, allowed: [Bool]) -> Bool {
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let a = iterator.next(), let b = iterator.next(), isHex(a), isHex(b) else { return false }
                continue
            }
            guard allowed[Int(byte)] else { return false }
        }
        return true
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
    }

    /// The query without the `key=` parameter (Gemini's older way to send a key,
    /// which carried the client's token here).
    static func queryWithoutKey(_ query: String?) -> String? {
        guard let query else { return nil }
        let kept = query.split(separator: "&", omittingEmptySubsequences: false).filter { !$0.hasPrefix("key=") }
        return kept.isEmpty ? nil : kept.joined(separator: "&")
    }

    /// The client's headers to forward: every field but the hop-by-hop ones,
    /// those `Connection` names, the client's credential and Keywarden's own
    /// (`x-keywarden-*`); then the provider's required headers the client did
    /// not send (`anthropic-version`), then the key.
    static func headers(from client: HTTPFields, provider: ProviderDefinition, key: SecureBytes) -> HTTPHeaders {
        let connectionNamed = namedByConnection(client.lazy.filter { $0.name == .connection }.map(\.value))
        var headers = HTTPHeaders()
        headers.reserveCapacity(client.count + 2)
        for field in client where forwards(field.name.canonicalName, connectionNamed: connectionNamed) {
            headers.add(name: field.name.rawName, value: field.value)
        }
        for (name, value) in provider.headers where !headers.contains(name: name) {
            headers.add(name: name, value: value)
        }
        // A String per request: AsyncHTTPClient takes headers as Strings. It
        // is dropped with the request, never cached (docs/security.md).
        let value = key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        switch provider.auth.style {
        case .bearer: headers.add(name: "authorization", value: "Bearer " + value)
        case .header: headers.add(name: provider.auth.name ?? "x-api-key", value: value)
        case .query: break
        }
        return headers
    }

    /// The field names listed by the client's `Connection` fields, lowercased: hop-by-hop too.
    static func namedByConnection(_ values: some Sequence<String>) -> Set<String> {
        var named: Set<String> = []
        for value in values {
            for token in value.split(separator: ",") { named.insert(token.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        return named
    }

    /// Whether the client's field `name` (lowercased) goes on to the provider.
    static func forwards(_ name: String, connectionNamed: Set<String>) -> Bool {
        !(droppedRequestHeaders.contains(name) || name.hasPrefix("x-keywarden-") || connectionNamed.contains(name))
    }

    /// For providers that take the key in the query: `name=<key>` appended, percent-encoded.
    static func appendingQueryKey(_ url: String, provider: ProviderDefinition, key: SecureBytes) -> String {
        guard provider.auth.style == .query else { return url }
        let value = key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        let encoded = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? value
        return url + (url.contains("?") ? "&" : "?") + "\(provider.auth.name ?? "key")=\(encoded)"
    }
}

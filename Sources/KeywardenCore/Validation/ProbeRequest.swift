import Foundation

/// One HTTP request to a provider, built from its definition and a key. The
/// key is only in `secretHeaders` / the query, which are never logged or shown.
public struct ProbeRequest: Sendable {
    public var scheme: String
    public var host: String
    public var port: Int
    /// Path and query, starting with `/`.
    public var target: String
    public var method: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Header names whose values are secret (redacted in any display).
    public var secretHeaders: Set<String>
    /// The target without the key, for display (`/v1/models`).
    public var displayTarget: String

    /// `https://api.anthropic.com/v1/models` style, never with the key.
    public var displayURL: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return "\(scheme)://\(host)\(port == defaultPort ? "" : ":\(port)")\(displayTarget)"
    }

    /// Builds the probe request for `provider` carrying `key`.
    public static func make(provider: ProviderDefinition, key: [UInt8]) throws(KeywardenError) -> ProbeRequest {
        guard let probe = provider.probe else {
            throw KeywardenError(.invalidInput, "provider '\(provider.name)' has no probe request, so its keys cannot be checked; define one with `keywarden provider add … --probe-path PATH`")
        }
        guard let url = URLComponents(string: provider.baseURL), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else {
            throw KeywardenError(.invalidInput, "provider '\(provider.name)' has a malformed base URL '\(provider.baseURL)'; fix it with `keywarden provider set \(provider.name) --base-url URL`")
        }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let basePath = url.percentEncodedPath.hasSuffix("/") ? String(url.percentEncodedPath.dropLast()) : url.percentEncodedPath
        var target = basePath + probe.path
        let displayTarget = target
        var headers: [(String, String)] = [("host", port == (scheme == "https" ? 443 : 80) ? host : "\(host):\(port)"),
                                           ("user-agent", "keywarden/0.1 (key check)"), ("accept", "application/json")]
        var secret: Set<String> = []
        let keyText = String(decoding: key, as: UTF8.self)
        switch provider.auth.style {
        case .bearer:
            headers.append(("authorization", "Bearer \(keyText)"))
            secret.insert("authorization")
        case .header:
            let name = (provider.auth.name ?? "x-api-key").lowercased()
            headers.append((name, keyText))
            secret.insert(name)
        case .query:
            let name = provider.auth.name ?? "key"
            let encoded = keyText.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? keyText
            target += (target.contains("?") ? "&" : "?") + "\(name)=\(encoded)"
        }
        for (name, value) in provider.headers.sorted(by: { $0.key < $1.key }) { headers.append((name.lowercased(), value)) }
        var body: [UInt8] = []
        if let text = probe.body {
            body = Array(text.utf8)
            headers.append(("content-type", "application/json"))
        }
        headers.append(("content-length", String(body.count)))
        headers.append(("connection", "close"))
        return ProbeRequest(scheme: scheme, host: host, port: port, target: target, method: probe.method.uppercased(), headers: headers,
                            body: body, secretHeaders: secret, displayTarget: displayTarget)
    }
}

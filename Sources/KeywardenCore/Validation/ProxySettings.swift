/// The proxy variables in effect, read as curl and the official SDKs read
/// them: `HTTPS_PROXY`/`https_proxy` for https URLs, `HTTP_PROXY`/`http_proxy`
/// for http ones, `NO_PROXY`/`no_proxy` for exceptions.
public struct ProxySettings: Sendable, Equatable {
    /// A proxy server; credentials from the URL go in `Proxy-Authorization`.
    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        /// `user:password`, if the proxy URL had them (never printed).
        public var credentials: String?
        /// Where the setting came from (`HTTPS_PROXY`).
        public var variable: String

        /// `host:port` from `HTTPS_PROXY`, without credentials.
        public var description: String { "\(host):\(port) (from \(variable)\(credentials != nil ? ", with credentials" : ""))" }
    }

    public var https: Endpoint?
    public var http: Endpoint?
    public var noProxy: [String]
    /// Variables that were set but could not be read, with the reason.
    public var problems: [String]

    public init(environment: [String: String]) {
        problems = []
        func endpoint(_ names: [String]) -> (Endpoint?, String?) {
            for name in names {
                guard let raw = environment[name], !raw.isEmpty else { continue }
                return Self.parse(raw, variable: name)
            }
            return (nil, nil)
        }
        let (https, httpsProblem) = endpoint(["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
        let (http, httpProblem) = endpoint(["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
        self.https = https
        self.http = http
        problems = [httpsProblem, httpProblem].compactMap { $0 }
        noProxy = (environment["NO_PROXY"] ?? environment["no_proxy"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }

    /// The proxy for a request to `host` over `scheme`, or nil to go direct.
    public func proxy(forHost host: String, scheme: String) -> Endpoint? {
        let candidate = scheme == "https" ? https : http
        guard let candidate else { return nil }
        return bypasses(host) ? nil : candidate
    }

    /// Whether `NO_PROXY` exempts `host`: `*`, the host itself, or a domain it is in.
    public func bypasses(_ host: String) -> Bool {
        let host = host.lowercased()
        for entry in noProxy {
            if entry == "*" { return true }
            let bare = entry.split(separator: ":").first.map(String.init) ?? entry
            let domain = bare.hasPrefix(".") ? String(bare.dropFirst()) : bare
            if host == domain || host.hasSuffix("." + domain) { return true }
        }
        return false
    }

    static func parse(_ raw: String, variable: String) -> (Endpoint?, String?) {
        var rest = Substring(raw)
        if let range = rest.range(of: "://") {
            let scheme = rest[..<range.lowerBound].lowercased()
            guard scheme == "http" else {
                return (nil, "\(variable) uses \(scheme)://; only http:// proxies are supported")
            }
            rest = rest[range.upperBound...]
        }
        rest = rest.prefix { $0 != "/" }
        var credentials: String?
        if let at = rest.lastIndex(of: "@") {
            credentials = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        var host = String(rest)
        var port = 80
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                return (nil, "\(variable) has an invalid port")
            }
            port = p
            host = String(rest[..<colon])
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return (nil, "\(variable) has no host") }
        return (Endpoint(host: host, port: port, credentials: credentials, variable: variable), nil)
    }
}

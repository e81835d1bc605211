/// One request as the mock received it (`MockProviderServer.requests`).
public struct MockRequest: Sendable {
    /// `GET`, `POST`, …
    public var method: String
    /// The path, without the query (`/anthropic/v1/messages`).
    public var path: String
    /// What follows `?` in the target, or nil when there is no `?`.
    public var query: String?
    /// Every header, in the order and spelling the client sent.
    public var headers: [(name: String, value: String)]
    /// The body's first 64 KiB.
    public var body: [UInt8]

    /// The maximum number of body bytes kept per request.
    public static let bodyLimit = 64 * 1024

    public init(method: String, path: String, query: String?, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The body as UTF-8 text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

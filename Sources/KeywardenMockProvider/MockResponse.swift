/// What a provider really answers in one situation, as the mock provider
/// server replays it: status, headers and body as documented or observed.
public struct MockResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: String

    public init(status: Int, headers: [(String, String)] = [("content-type", "application/json")], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func == (a: MockResponse, b: MockResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.map { "\($0.0):\($0.1)" } == b.headers.map { "\($0.0):\($0.1)" }
    }
}

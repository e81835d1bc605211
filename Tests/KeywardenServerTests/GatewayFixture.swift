import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import KeywardenCore
import KeywardenMockProvider
@testable import KeywardenServer
import KeywardenTestSupport
import Logging
import ServiceLifecycle
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// A live gateway on 127.0.0.1:0 in front of the mock providers: the agent
/// fixture's vault (anthropic keys in prod and dev, openai in prod), every
/// built-in provider pointed at the mock, and an HTTP client for the tests.
final class GatewayFixture: @unchecked Sendable {
    let fixture: AgentFixture
    let mock: MockProviderServer
    let gateway: Gateway
    let port: Int
    let client: HTTPClient
    private let server: Task<Void, any Error>
    private let group: ServiceGroup

    /// Limits for tests. The head timeout is long enough that a busy 2-core CI machine never
    /// turns a slow mock answer into a timeout (and a retry on another key, which would
    /// change the counts tests check); tests about hung upstreams use `fastTimeouts`.
    static var testSettings: GatewaySettings {
        var settings = GatewaySettings()
        settings.headTimeout = .seconds(10)
        settings.retryBudget = .seconds(3)
        settings.streamIdleTimeout = .seconds(5)
        return settings
    }

    /// A hung upstream answers 504 after 1 s.
    static var fastTimeouts: GatewaySettings {
        var settings = testSettings
        settings.headTimeout = .seconds(1)
        return settings
    }

    private init(fixture: AgentFixture, mock: MockProviderServer, gateway: Gateway, port: Int, server: Task<Void, any Error>, group: ServiceGroup) {
        self.group = group
        self.fixture = fixture
        self.mock = mock
        self.gateway = gateway
        self.port = port
        self.server = server
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(30)))
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 1100)
        client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    /// `trustMock`: the gateway trusts the mock's self-signed certificate
    /// (as `serve --ca-file` would), for the TLS listener.
    static func start(settings: GatewaySettings = GatewayFixture.testSettings, trustMock: Bool = false) async throws -> GatewayFixture {
        let mock = try await MockProviderServer.start()
        var settings = settings
        let caDirectory = TemporaryDirectory(prefix: "keywarden-gateway-ca")
        if trustMock {
            let path = caDirectory.file("mock-ca.pem")
            try mock.certificatePEM.write(toFile: path, atomically: false, encoding: .utf8)
            settings.network = NetworkSettings(environment: [:], caFile: path)
        }
        let fixture = try AgentFixture(gateway: settings)
        fixture.keep(caDirectory)
        for provider in ["anthropic", "openai", "gemini", "groq"] {
            _ = try fixture.vault.updateProvider(provider, baseURL: mock.baseURL(for: provider), env: nil)
        }
        let gateway = try #require(fixture.agent.gateway)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = buildGatewayApplication(gateway, host: "127.0.0.1", port: 0, logger: Logger(label: "gateway-test"), services: gateway.services) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "gateway-test")))
        let server = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        return GatewayFixture(fixture: fixture, mock: mock, gateway: gateway, port: port, server: server, group: group)
    }

    var vault: Vault { fixture.vault }
    var origin: String { "http://127.0.0.1:\(port)" }

    /// Adds a key whose words choose the mock's answer (`valid`, `invalid`, `ratelimited`, …).
    @discardableResult
    func addKey(_ provider: String, scope: String, words: String, activate: Bool = false) throws -> KeyInfo {
        let value: String
        switch provider {
        case "anthropic": value = "sk-ant-api03-\(words)-" + String(repeating: "Q", count: 60)
        case "openai": value = "sk-proj-\(words)-" + String(repeating: "Q", count: 60)
        default: value = "\(words)-" + String(repeating: "Q", count: 40)
        }
        return try vault.addKey(provider: provider, scope: scope, label: nil, env: nil, value: Secrets.secret(copying: value.utf8), activate: activate, force: true).key
    }

    func token(_ name: String, scopes: [String] = ["prod"], providers: [String] = ["anthropic"]) throws -> String {
        try fixture.token(name, scopes: scopes, providers: providers)
    }

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends a request to the gateway and reads the whole answer.
    func send(_ method: HTTPMethod = .POST, _ path: String, headers: [(String, String)] = [], body: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: origin + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
    }

    /// An Anthropic Messages request with `token` where the SDK sends its key.
    func messages(token: String, stream: Bool = false, extra: [(String, String)] = []) async throws -> Answer {
        try await send(.POST, "/anthropic/v1/messages", headers: [("x-api-key", token), ("anthropic-version", "2023-06-01")] + extra,
                       body: #"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]"# + (stream ? #","stream":true}"# : "}"))
    }

    /// `/metrics`' gateway families.
    var metrics: String { gateway.metrics.render() }

    /// The events of `action` the vault holds now.
    func events(_ action: String) throws -> [AuditEvent] {
        var filter = AuditFilter()
        filter.action = action
        return try fixture.reopen().auditEvents(filter)
    }

    func shutdown() async {
        try? await client.shutdown()
        await group.triggerGracefulShutdown()
        _ = try? await server.value
        await gateway.clients.shutdown()
        await mock.shutdown()
    }
}

/// Polls `condition` for up to `seconds` (work the gateway does off the request's path).
func eventually(_ seconds: Double = 5, _ condition: () throws -> Bool) async rethrows -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if try condition() { return true }
        try? await Task.sleep(nanoseconds: 50_000_000)
    }
    return try condition()
}

/// Sends `text` as it is over a new TCP connection to 127.0.0.1:`port` and
/// returns the first line of the answer (for requests no HTTP client would send).
func rawTCPStatusLine(port: Int, _ text: String) throws -> String {
    let fd = try rawTCPConnect(port: port)
    defer { close(fd) }
    try? rawTCPSend(fd, text)
    let answer = rawTCPReceive(fd)
    // "\r\n" is one Character: look at scalars.
    return String(String.UnicodeScalarView(answer.unicodeScalars.prefix { $0 != "\r" && $0 != "\n" }))
}

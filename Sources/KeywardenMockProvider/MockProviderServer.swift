import Crypto
import Foundation
import KeywardenCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import X509

/// A stand-in for the LLM providers, on loopback, for tests and the README's
/// demo. It plays each built-in provider at `/<provider>/…` (point a provider's
/// base URL at `baseURL(for:)`), answering with the provider's real status,
/// headers and body for the situation named in the key itself:
///
/// - provider situations from each built-in provider's documented answers
///   (`BuiltinProvider.answers`: `valid`, `invalid`, `nocredit`,
///   `ratelimited`, `overloaded`, …): a key containing the word gets that
///   answer (the longest matching word wins; none means `valid`);
/// - network faults: `hang` (never answers), `slow` (answers after
///   `slowDelay`), `reset` (drops the connection), `flaky` (503 twice, then
///   valid), `redirect` (302 to another host), `portal` (a 200 HTML page).
///
/// A key sent in the wrong place (say, Bearer for Anthropic) gets the
/// provider's bad-key answer, as the real one would. A second listener
/// speaks TLS with a self-signed certificate (for `localhost`;
/// `certificatePEM` makes a client trust it). Connections are
/// kept alive unless the request says `Connection: close`.
public final class MockProviderServer: Sendable {
    public let port: Int
    public let tlsPort: Int
    /// The TLS listener's self-signed certificate, to pass as a CA file.
    public let certificatePEM: String
    private let channels: [any Channel]
    private let state: MockState

    /// How long `slow` keys wait before the answer.
    public static let slowDelay: TimeAmount = .seconds(3)

    private init(port: Int, tlsPort: Int, certificatePEM: String, channels: [any Channel], state: MockState) {
        self.port = port
        self.tlsPort = tlsPort
        self.certificatePEM = certificatePEM
        self.channels = channels
        self.state = state
    }

    /// Starts both listeners on 127.0.0.1 (ports chosen by the system unless given).
    public static func start(port: Int = 0, tlsPort: Int = 0) async throws -> MockProviderServer {
        let state = MockState()
        let (configuration, pem) = try selfSigned()
        let tls = try NIOSSLContext(configuration: configuration)
        func bootstrap(tls: NIOSSLContext?) -> ServerBootstrap {
            ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        state.connectionAccepted()
                        if let tls {
                            state.tlsConnectionAccepted()
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                            // Everything a client sends after the handshake, decrypted.
                            try channel.pipeline.syncOperations.addHandler(TLSBytesRecorder(state: state))
                        }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(MockRequestHandler(state: state))
                    }
                }
        }
        let plain = try await bootstrap(tls: nil).bind(host: "127.0.0.1", port: port).get()
        let secure = try await bootstrap(tls: tls).bind(host: "127.0.0.1", port: tlsPort).get()
        return MockProviderServer(port: plain.localAddress!.port!, tlsPort: secure.localAddress!.port!, certificatePEM: pem,
                                  channels: [plain, secure], state: state)
    }

    /// The base URL that makes `provider` talk to this server (keeping the
    /// provider's own path prefix, e.g. `/api/paas/v4` for Zhipu).
    public func baseURL(for provider: String, tls: Bool = false) -> String {
        let path = BuiltinProviders.named(provider).flatMap { URLComponents(string: $0.baseURL)?.path } ?? ""
        return "\(tls ? "https" : "http")://127.0.0.1:\(tls ? tlsPort : port)/\(provider)\(path)"
    }

    /// How many requests carried a key containing `marker`.
    public func requests(withKeyContaining marker: String) -> Int { state.count(containing: marker) }

    /// Every request's path and the headers it carried (for checking where keys went).
    public var received: [(path: String, headers: [(String, String)])] { state.received }

    /// Connections accepted on the TLS listener.
    public var tlsConnections: Int { state.tls.connections }

    /// Connections accepted on either listener.
    public var connections: Int { state.connections }

    /// Every byte clients sent over TLS after the handshake (decrypted), on
    /// any connection: empty when nothing but handshakes happened.
    public var tlsApplicationBytes: [UInt8] { state.tls.bytes }

    public func shutdown() async {
        for channel in channels { try? await channel.close() }
    }

    /// A port on 127.0.0.1 where nothing listens (bound, then closed).
    public static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }

    /// A server configuration with a fresh self-signed certificate, and that certificate in PEM.
    static func selfSigned() throws -> (TLSConfiguration, pem: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("keywarden-mock.invalid"); OrganizationName("Keywarden test (self-signed)") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { SubjectAlternativeNames([.dnsName("localhost")]) },
            issuerPrivateKey: .init(key))
        let pem = try certificate.serializeAsPEM().pemString
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)))
        return (configuration, pem)
    }
}

/// Request counts and a log, shared by all connections.
final class MockState: Sendable {
    private let storage = NIOLockedValueBox<(counts: [String: Int], received: [(String, [(String, String)])])>(([:], []))

    func record(key: String, path: String, headers: [(String, String)]) -> Int {
        storage.withLockedValue { value in
            value.counts[key, default: 0] += 1
            if value.received.count < 10_000 { value.received.append((path, headers)) }
            return value.counts[key]!
        }
    }

    func count(containing marker: String) -> Int {
        storage.withLockedValue { $0.counts.filter { $0.key.contains(marker) }.values.reduce(0, +) }
    }

    var received: [(path: String, headers: [(String, String)])] { storage.withLockedValue { $0.received.map { ($0.0, $0.1) } } }

    private let accepted = NIOLockedValueBox(0)
    func connectionAccepted() { accepted.withLockedValue { $0 += 1 } }
    var connections: Int { accepted.withLockedValue { $0 } }

    private let tlsStorage = NIOLockedValueBox<(connections: Int, bytes: [UInt8])>((0, []))

    func tlsConnectionAccepted() { tlsStorage.withLockedValue { $0.connections += 1 } }
    func tlsReceived(_ bytes: [UInt8]) { tlsStorage.withLockedValue { if $0.bytes.count < 1 << 20 { $0.bytes += bytes } } }
    var tls: (connections: Int, bytes: [UInt8]) { tlsStorage.withLockedValue { $0 } }
}

/// Records what a client sends on the TLS listener once decrypted, then passes it on.
final class TLSBytesRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let state: MockState

    init(state: MockState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.tlsReceived(Array(buffer.readableBytesView))
        context.fireChannelRead(data)
    }
}

final class MockRequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: MockState
    private var head: HTTPRequestHead?

    init(state: MockState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        let segments = path.split(separator: "/").map(String.init)
        guard let providerName = segments.first, let provider = BuiltinProviders.provider(named: providerName) else {
            return send(ProbeResponse(status: 404, headers: Self.json, body: #"{"error":"unknown mock provider path"}"#), keepAlive: head.isKeepAlive, context: context)
        }
        let key = Self.key(in: head, for: provider.definition)
        let count = state.record(key: key ?? "", path: path, headers: head.headers.map { ($0.name, $0.value) })
        guard let key else {
            return send(provider.answer(for: "invalid")?.response ?? ProbeResponse(status: 401, headers: Self.json, body: "{}"), keepAlive: head.isKeepAlive, context: context)
        }
        let lowered = key.lowercased()
        if lowered.contains("hang") { return }
        if lowered.contains("reset") {
            // SO_LINGER 0: close sends a TCP reset instead of a clean FIN.
            if let socket = context.channel as? any SocketOptionProvider {
                _ = socket.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            }
            context.close(promise: nil)
            return
        }
        if lowered.contains("redirect") {
            return send(ProbeResponse(status: 302, headers: [("location", "http://elsewhere.invalid\(path)"), ("content-type", "text/plain")], body: "moved"), keepAlive: head.isKeepAlive, context: context)
        }
        if lowered.contains("portal") {
            return send(ProbeResponse(status: 200, headers: [("content-type", "text/html")], body: "<html><body>Sign in to the Wi-Fi network</body></html>"), keepAlive: head.isKeepAlive, context: context)
        }
        if lowered.contains("flaky") && count <= 2 {
            return send(ProbeResponse(status: 503, headers: Self.json, body: #"{"error":{"message":"Service temporarily unavailable"}}"#), keepAlive: head.isKeepAlive, context: context)
        }
        let scenario = provider.answers.filter { lowered.contains($0.scenario) }.max { $0.scenario.count < $1.scenario.count }
        let response = scenario?.response ?? provider.answer(for: "valid")?.response ?? ProbeResponse(status: 200, headers: Self.json, body: "{}")
        if lowered.contains("slow") {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: MockProviderServer.slowDelay) { self.send(response, keepAlive: head.isKeepAlive, context: loopBound.value) }
            return
        }
        send(response, keepAlive: head.isKeepAlive, context: context)
    }

    /// The key where `provider` expects it, or nil when it is not there.
    static func key(in head: HTTPRequestHead, for provider: ProviderDefinition) -> String? {
        switch provider.auth.style {
        case .bearer:
            guard let value = head.headers.first(name: "authorization"), value.hasPrefix("Bearer ") else { return nil }
            return String(value.dropFirst(7))
        case .header:
            return head.headers.first(name: provider.auth.name ?? "x-api-key")
        case .query:
            let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
            for pair in query.split(separator: "&") where pair.hasPrefix("\(provider.auth.name ?? "key")=") {
                return String(pair.dropFirst((provider.auth.name ?? "key").count + 1)).removingPercentEncoding
            }
            return nil
        }
    }

    private static let json = [("content-type", "application/json")]

    /// Answers, and keeps the connection for the client's next request
    /// unless it asked to close (`keepAlive` false) or the answer says close.
    private func send(_ response: ProbeResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        headers.replaceOrAdd(name: "content-length", value: String(response.body.count))
        let close = !keepAlive || headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
        if close { headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}

import Crypto
import Foundation
import KeywardenCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import X509

/// A stand-in for the LLM providers, on loopback, for tests and the docs'
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
///   valid), `flakyoverload` (the provider's documented overloaded answer
///   once, then valid), `redirect` (302 to another host), `portal` (a 200
///   HTML page), `hangbody` (a 200 SSE head and one event, then nothing),
///   `gzip` (the answer's body gzip-encoded, `content-encoding: gzip`);
/// - chat requests with a valid key: `POST …/v1/messages` (Anthropic) and
///   `POST …/chat/completions` (the others) get a fixed chat answer, or with
///   `"stream":true` in the body a fixed 20-event SSE stream, `streamDelay`
///   between events (`expectedStream(provider:)` gives its bytes).
///
/// - balances: DeepSeek's, OpenRouter's and Moonshot's balance endpoints in
///   their real shapes, with a balance per key set at run time
///   (`setBalance(forKeyContaining:_:)`; at zero or below the key is out of
///   credit everywhere else); rate-limit headers on 2xx answers (Anthropic,
///   OpenAI, Groq);
/// - a one-api/new-api relay at `/relay/…` (``MockRelay``), for user-defined
///   providers.
///
/// `setScenario(forKeyContaining:_:)` overrides a key's words at run time.
/// Rate-limited answers (`ratelimited`) carry `retry-after: 1` when the
/// documented one has no `retry-after`.
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
    let state: MockState

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
                        state.connectionAccepted(channel)
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

    /// Every request in full (method, path, query, headers, the body's first
    /// 64 KiB), in the order they were answered; requests to an unknown path too.
    public var requests: [MockRequest] { state.requests }

    /// Connections on either listener that are open now (closed ones are
    /// subtracted once the server has seen the close).
    public var openConnections: Int { state.openConnections }

    /// Connections accepted on the TLS listener.
    public var tlsConnections: Int { state.tls.connections }

    /// Connections accepted on either listener.
    public var connections: Int { state.connections }

    /// Every byte clients sent over TLS after the handshake (decrypted), on
    /// any connection: empty when nothing but handshakes happened.
    public var tlsApplicationBytes: [UInt8] { state.tls.bytes }

    /// Stops both listeners and closes every connection still open
    /// (streams in progress, requests left hanging).
    public func shutdown() async {
        for channel in channels { try? await channel.close() }
        for channel in state.openChannels { try? await channel.close() }
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


import AsyncHTTPClient
import Foundation
import KeywardenCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The gateway's timing and size limits (`serve --gateway-timeout …`).
public struct GatewaySettings: Sendable {
    /// Attempt start → the provider's answer head.
    public var headTimeout: TimeAmount = .seconds(600)
    /// No new attempt or backoff starts later than this after the request arrived.
    public var retryBudget: TimeAmount = .seconds(60)
    /// Silence allowed while an answer's body streams.
    public var streamIdleTimeout: TimeAmount = .seconds(300)
    public var connectTimeout: TimeAmount = .seconds(10)
    /// A client's keep-alive connection to the TCP listener with no request for this long is closed.
    public var connectionIdleTimeout: TimeAmount = .seconds(60)
    /// A request body larger than this gets 413 (it is kept in memory for one resend).
    public var maxBody = 32 * 1024 * 1024
    /// All request bodies held at once; past it new requests get 503.
    public var maxBodies = 512 * 1024 * 1024
    /// The scope served when a request names none and its caller may read
    /// several (the owner); nil: such a request must name one.
    public var defaultScope: String?
    /// HTTP/1.1 only upstream (one connection per concurrent request) instead of HTTP/2 where offered.
    public var http1Only = false
    /// The proxies and CA file of `validate`: the agent's environment and `--ca-file`.
    public var network = NetworkSettings(environment: [:])

    public init() {}
}

/// AsyncHTTPClient clients for the providers: one that connects directly
/// and one per proxy endpoint in use, made on first use. Pooled keep-alive
/// connections, HTTP/2 where the provider offers it (ALPN), certificates
/// verified against the system roots and the CA file, redirects never
/// followed, bodies passed without decompression.
final class UpstreamClients: Sendable {
    private let settings: GatewaySettings
    private let proxies: ProxySettings
    private let clients = NIOLockedValueBox<[String: HTTPClient]>([:])
    private let closed = NIOLockedValueBox(false)
    /// The fast path's own plain-HTTP connections (``FastForwarding``).
    let connections: UpstreamConnections

    init(settings: GatewaySettings) {
        self.settings = settings
        connections = UpstreamConnections(settings: settings)
        proxies = ProxySettings(environment: settings.network.variables)
    }

    /// The client for a request to `host` over `scheme`: through the proxy the
    /// environment names for it (`HTTPS_PROXY`, `NO_PROXY`, …), else direct.
    /// Plain HTTP (loopback, or a provider allowed it) never goes through a proxy.
    func client(host: String, scheme: String) throws -> HTTPClient {
        let endpoint = scheme == "https" ? proxies.proxy(forHost: host, scheme: scheme) : nil
        let id = endpoint.map { "\($0.host):\($0.port)" } ?? "direct"
        return try clients.withLockedValue { clients in
            if let existing = clients[id] { return existing }
            guard !closed.withLockedValue({ $0 }) else { throw HTTPClientError.alreadyShutdown }
            let made = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration(proxy: endpoint))
            clients[id] = made
            return made
        }
    }

    private func configuration(proxy: ProxySettings.Endpoint?) -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile = settings.network.caFile { tls.additionalTrustRoots = [.file(caFile)] }
        var pool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 2048)
        // A failed connection fails the waiting requests at once, with the real
        // error (TLS, refused), and the gateway's own retry rules apply; AHC's
        // own retries would hold them until the connect deadline.
        pool.retryConnectionEstablishment = false
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            // AHC's read timeout also runs while the head is awaited: never shorter than the head's own limit.
            timeout: .init(connect: settings.connectTimeout, read: max(settings.headTimeout, settings.streamIdleTimeout)),
            connectionPool: pool,
            proxy: proxy.map { .server(host: $0.host, port: $0.port, authorization: $0.credentials.map { .basic(credentials: Data($0.utf8).base64EncodedString()) }) },
            decompression: .disabled)
        configuration.httpVersion = settings.http1Only ? .http1Only : .automatic
        // `localhost` never goes to DNS: what a base URL calls loopback stays loopback.
        configuration.dnsOverride = ["localhost": "127.0.0.1"]
        return configuration
    }

    func shutdown() async {
        closed.withLockedValue { $0 = true }
        let all = clients.withLockedValue { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for client in all { try? await client.shutdown() }
        await connections.shutdown()
    }
}

/// Closes the upstream clients and the fast path's connections when the agent shuts down.
struct UpstreamClientsService: Service {
    let clients: UpstreamClients

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        }
        await clients.shutdown()
    }
}

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The stages a probe goes through; a failure names the first one that failed.
public enum ProbeStage: String, Sendable, Codable {
    case proxy, dns, connect, tls, http
}

/// What happened at one stage, with its timing, for `doctor`.
public struct StageReport: Sendable, Codable {
    public var stage: ProbeStage
    public var ok: Bool
    public var milliseconds: Double
    public var detail: String
}

/// An HTTP answer (body bounded).
public struct ProbeResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A probe that did not get an HTTP answer: where it failed and why.
public struct ProbeFailure: Error, Sendable {
    public var stage: ProbeStage
    public var outcome: ValidationOutcome
    public var detail: String
}

/// Details of a completed TLS handshake.
public struct TLSDetails: Sendable, Codable {
    public var version: String
    public var subject: String
    public var issuer: String
    public var notValidAfter: String
    public var verified: Bool

    /// One line for `doctor`: protocol, subject, issuer, expiry, verification.
    public var summary: String {
        "\(version), certificate \(subject), issued by \(subject == issuer ? "itself (self-signed)" : issuer), valid until \(notValidAfter)\(verified ? ", verified" : ", NOT verified")"
    }
}

/// A minimal HTTP/1.1 client that goes through DNS, TCP, proxy tunnel, TLS
/// and HTTP as explicit stages, so a failure is classified by the stage that
/// failed (`dns_error`, `connect_error`, `proxy_error`, `tls_error`,
/// `timeout`) and `doctor` can time each one. One connection per probe, no
/// redirects followed (a redirect never carries the key anywhere).
public struct ProbeClient: Sendable {
    public var resolver: any HostResolver
    public var proxies: ProxySettings
    /// Extra trusted CA certificates (PEM file), e.g. a corporate proxy's.
    public var caFile: String?
    public var bodyLimit = 256 * 1024

    public init(resolver: any HostResolver = SystemResolver(), proxies: ProxySettings, caFile: String? = nil) {
        self.resolver = resolver
        self.proxies = proxies
        self.caFile = caFile
    }

    /// Sends `request`, giving up after `timeout`. `record` receives each
    /// stage's report. The certificate is always verified: the key is written
    /// only after a verified handshake (or over plain HTTP to loopback, or
    /// where the user allowed plain HTTP). To look at a certificate that fails
    /// verification, use `inspectCertificate`, which never sends a request.
    public func send(_ request: ProbeRequest, timeout: TimeAmount,
                     record: @Sendable (StageReport) -> Void = { _ in }) async -> Result<ProbeResponse, ProbeFailure> {
        let deadline = NIODeadline.now() + timeout
        let proxy = proxies.proxy(forHost: request.host, scheme: request.scheme)
        if request.scheme == "http", !request.allowsInsecureHTTP {
            // Defence in depth (ProbeRequest.make checks the target too): over
            // plain HTTP the key is readable by whoever we connect to, so
            // that must be this machine.
            let connectHost = proxy?.host ?? request.host
            if !LoopbackHost.contains(connectHost) {
                let failure = ProbeFailure(stage: proxy != nil ? .proxy : .connect, outcome: .unexpected,
                                           detail: "refusing to send the key over plain HTTP to \(proxy != nil ? "proxy " : "")\(connectHost), which is not this machine; use https:// or allow it with `provider set … --allow-insecure-http`")
                record(StageReport(stage: failure.stage, ok: false, milliseconds: 0, detail: failure.detail))
                return .failure(failure)
            }
        }
        let connection: Connection
        switch await open(host: request.host, port: request.port, scheme: request.scheme, tls: .verified, deadline: deadline, record: record) {
        case .failure(let failure): return .failure(failure)
        case .success(let opened): connection = opened
        }
        defer { connection.close() }
        let channel = connection.channel
        if request.scheme == "http", !request.allowsInsecureHTTP {
            // The plain-HTTP exception is for this machine only: a name
            // (`localhost`) is a lookup, so check where we actually are.
            guard let peer = channel.remoteAddress, LoopbackHost.contains(address: peer) else {
                let failure = ProbeFailure(stage: proxy != nil ? .proxy : .connect, outcome: .unexpected,
                                           detail: "refusing to send the key over plain HTTP: \(proxy?.host ?? request.host) resolved to \(channel.remoteAddress.map { "\($0)" } ?? "an unknown address"), which is not this machine; nothing was sent")
                record(StageReport(stage: failure.stage, ok: false, milliseconds: 0, detail: failure.detail))
                return .failure(failure)
            }
        }

        // HTTP
        let started = NIODeadline.now()
        do {
            let done = channel.eventLoop.makePromise(of: ProbeResponse.self)
            var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method),
                                       uri: proxy != nil && request.scheme == "http" ? "http://\(request.host):\(request.port)\(request.target)" : request.target)
            for (name, value) in request.headers { head.headers.add(name: name, value: value) }
            if let credentials = proxy?.credentials, request.scheme == "http" {
                head.headers.add(name: "proxy-authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
            }
            let body = request.body
            let limit = bodyLimit
            let requestHead = head
            let credential = request.credential
            try await Self.install(on: channel, completing: done) {
                // The key is added by the encoder, from guarded memory, as the head is written.
                try channel.pipeline.syncOperations.addHandler(CredentialRequestEncoder(credential: credential))
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
                try channel.pipeline.syncOperations.addHandler(ExchangeHandler(head: requestHead, body: body, bodyLimit: limit, done: done))
            }
            let response = try await done.futureResult.get()
            record(StageReport(stage: .http, ok: true, milliseconds: Self.ms(since: started), detail: "\(request.method) \(request.displayURL) → HTTP \(response.status)"))
            return .success(response)
        } catch {
            return .failure(Self.failed(.http, .connectError, deadline: deadline, started: started, record: record,
                                        late: "no HTTP answer from \(request.host) within the time limit",
                                        otherwise: "the connection to \(request.host) broke before an answer: \(Self.describe(error))"))
        }
    }

    /// Connects to `host:port` (through the proxy in effect), completes a TLS
    /// handshake WITHOUT verifying the certificate, captures the certificate
    /// and closes: nothing is written after the handshake. This is how
    /// `doctor` shows which certificate failed verification. It takes no
    /// request, so it cannot carry a key.
    public func inspectCertificate(host: String, port: Int, timeout: TimeAmount,
                                   record: @Sendable (StageReport) -> Void = { _ in }) async -> Result<TLSDetails, ProbeFailure> {
        let deadline = NIODeadline.now() + timeout
        switch await open(host: host, port: port, scheme: "https", tls: .inspectOnly, deadline: deadline, record: record) {
        case .failure(let failure): return .failure(failure)
        case .success(let connection):
            connection.close()
            guard let details = connection.tls else {
                return .failure(ProbeFailure(stage: .tls, outcome: .tlsError, detail: "the server presented no certificate"))
            }
            return .success(details)
        }
    }

    /// How the TLS stage treats the certificate.
    private enum TLSMode {
        /// Full verification: the only mode a request (and so a key) is sent in.
        case verified
        /// No verification, to read the certificate; used only by `inspectCertificate`.
        case inspectOnly
    }

    /// An open connection, past DNS, TCP, proxy tunnel and TLS.
    private struct Connection {
        var channel: any Channel
        var tls: TLSDetails?
        var timeoutTask: Scheduled<Void>

        func close() {
            timeoutTask.cancel()
            channel.close(promise: nil)
        }
    }

    /// Runs the DNS, TCP, proxy-tunnel and TLS stages. Installs no HTTP
    /// handlers and writes nothing but a proxy's CONNECT.
    private func open(host: String, port: Int, scheme: String, tls mode: TLSMode, deadline: NIODeadline,
                      record: @Sendable (StageReport) -> Void) async -> Result<Connection, ProbeFailure> {
        let proxy = proxies.proxy(forHost: host, scheme: scheme)
        if let proxy {
            record(StageReport(stage: .proxy, ok: true, milliseconds: 0, detail: "via proxy \(proxy)"))
        }
        let connectHost = proxy?.host ?? host
        let connectPort = proxy?.port ?? port

        // DNS
        var started = NIODeadline.now()
        let addresses: [SocketAddress]
        do {
            addresses = try await withDeadline(deadline) { try await resolver.resolve(host: connectHost, port: connectPort) }
            record(StageReport(stage: .dns, ok: true, milliseconds: Self.ms(since: started),
                               detail: "\(connectHost) → \(addresses.compactMap(\.ipAddress).joined(separator: ", "))"))
        } catch {
            let failure = error is DeadlineExceeded
                ? ProbeFailure(stage: .dns, outcome: .timeout, detail: "resolving \(connectHost) took longer than the time limit")
                : ProbeFailure(stage: .dns, outcome: proxy != nil ? .proxyError : .dnsError,
                               detail: "cannot resolve \(proxy != nil ? "proxy " : "")\(connectHost): \(error)")
            record(StageReport(stage: .dns, ok: false, milliseconds: Self.ms(since: started), detail: failure.detail))
            return .failure(failure)
        }

        // TCP
        started = NIODeadline.now()
        var connected: (any Channel)?
        var lastError: (any Error)?
        for address in addresses {
            let remaining = deadline - NIODeadline.now()
            guard remaining > .zero else { break }
            do {
                connected = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(min(remaining, .seconds(10)))
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connect(to: address).get()
                break
            } catch {
                lastError = error
            }
        }
        guard let channel = connected else {
            let timedOut = NIODeadline.now() >= deadline || (lastError.map { "\($0)".contains("connectTimeout") } ?? false)
            let what = proxy != nil ? "proxy \(connectHost):\(connectPort)" : "\(connectHost):\(connectPort)"
            let failure = ProbeFailure(
                stage: .connect,
                outcome: proxy != nil ? .proxyError : (timedOut ? .timeout : .connectError),
                detail: timedOut ? "no TCP connection to \(what) within the time limit" : "cannot connect to \(what): \(Self.describe(lastError))")
            record(StageReport(stage: .connect, ok: false, milliseconds: Self.ms(since: started), detail: failure.detail))
            return .failure(failure)
        }
        record(StageReport(stage: .connect, ok: true, milliseconds: Self.ms(since: started),
                           detail: "connected to \(channel.remoteAddress?.description ?? connectHost)"))
        let connection = Connection(channel: channel, tls: nil,
                                    timeoutTask: channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) })

        // Proxy tunnel for https.
        if let proxy, scheme == "https" {
            started = NIODeadline.now()
            do {
                let done = channel.eventLoop.makePromise(of: Void.self)
                try await Self.install(on: channel, completing: done) {
                    try channel.pipeline.syncOperations.addHandler(ProxyTunnelHandler(target: "\(host):\(port)", credentials: proxy.credentials, done: done))
                }
                try await done.futureResult.get()
                record(StageReport(stage: .proxy, ok: true, milliseconds: Self.ms(since: started), detail: "tunnel to \(host):\(port) open"))
            } catch {
                connection.close()
                return .failure(Self.failed(.proxy, .proxyError, deadline: deadline, started: started, record: record,
                                            late: "the proxy did not open a tunnel within the time limit",
                                            otherwise: "the proxy refused the tunnel: \(error)"))
            }
        }

        // TLS
        guard scheme == "https" else { return .success(connection) }
        started = NIODeadline.now()
        do {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = mode == .verified ? .fullVerification : .none
            if let caFile { configuration.additionalTrustRoots = [.file(caFile)] }
            let context = try NIOSSLContext(configuration: configuration)
            let done = channel.eventLoop.makePromise(of: Void.self)
            // SNI carries names only; for an IP literal the certificate is checked against the IP.
            let sni = (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
            try await Self.install(on: channel, completing: done) {
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: sni))
                try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(done: done))
            }
            try await done.futureResult.get()
            let details = try? await tlsDetails(channel, verified: mode == .verified)
            record(StageReport(stage: .tls, ok: true, milliseconds: Self.ms(since: started), detail: details?.summary ?? "handshake complete"))
            var verified = connection
            verified.tls = details
            return .success(verified)
        } catch {
            connection.close()
            return .failure(Self.failed(.tls, .tlsError, deadline: deadline, started: started, record: record,
                                        late: "the TLS handshake with \(host) did not finish within the time limit",
                                        otherwise: "TLS with \(host) failed: \(Self.describe(error))"))
        }
    }

    /// Adds handlers on the channel's event loop; if that fails, `promise`
    /// fails too (NIO requires every promise to be completed).
    static func install<T: Sendable>(on channel: any Channel, completing promise: EventLoopPromise<T>, _ body: @escaping @Sendable () throws -> Void) async throws {
        do {
            try await channel.eventLoop.submit(body).get()
        } catch {
            promise.fail(error)
            throw error
        }
    }

    private func tlsDetails(_ channel: any Channel, verified: Bool) async throws -> TLSDetails {
        let version = try await channel.nioSSL_tlsVersion().get()
        let certificate = try await channel.nioSSL_peerCertificate().get()
        return TLSDetails(
            version: version.map(Self.describe) ?? "unknown",
            subject: certificate.flatMap { CertificateNames.subject(of: $0) } ?? "unknown",
            issuer: certificate.flatMap { CertificateNames.issuer(of: $0) } ?? "unknown",
            notValidAfter: certificate.map { Timestamp(millisecondsSince1970: Int64($0.notValidAfter) * 1000).iso8601 } ?? "unknown",
            verified: verified)
    }

    static func describe(_ version: TLSVersion) -> String {
        switch version {
        case .tlsv13: "TLS 1.3"
        case .tlsv12: "TLS 1.2"
        case .tlsv11: "TLS 1.1"
        case .tlsv1: "TLS 1.0"
        }
    }

    /// A stage that failed, recorded: a timeout once the deadline has passed
    /// (`late` says so), else `outcome` (`otherwise` says why).
    static func failed(_ stage: ProbeStage, _ outcome: ValidationOutcome, deadline: NIODeadline, started: NIODeadline,
                       record: (StageReport) -> Void, late: String, otherwise: String) -> ProbeFailure {
        let timedOut = NIODeadline.now() >= deadline
        let failure = ProbeFailure(stage: stage, outcome: timedOut ? .timeout : outcome, detail: timedOut ? late : otherwise)
        record(StageReport(stage: stage, ok: false, milliseconds: ms(since: started), detail: failure.detail))
        return failure
    }

    static func ms(since start: NIODeadline) -> Double {
        Double((NIODeadline.now() - start).nanoseconds) / 1_000_000
    }

    /// A short, user-facing description of a network error.
    static func describe(_ error: (any Error)?) -> String {
        guard let error else { return "unknown error" }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let connection = error as? NIOConnectionError {
            if let first = connection.connectionErrors.first { return describe(first.error) }
            return "\(connection)"
        }
        if let ssl = error as? NIOSSLError {
            let text = "\(ssl)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") { return "the server's certificate could not be verified (CERTIFICATE_VERIFY_FAILED)" }
            if let range = text.range(of: "OPENSSL_internal:") {
                return "handshake failed (" + text[range.upperBound...].prefix { $0 != " " } + ")"
            }
            return text
        }
        if case ChannelError.connectTimeout = error { return "connect timed out" }
        return "\(error)"
    }
}

struct DeadlineExceeded: Error {}

/// Runs `body`, giving up at `deadline` (the work itself may continue in the background).
func withDeadline<T: Sendable>(_ deadline: NIODeadline, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            let remaining = deadline - NIODeadline.now()
            if remaining > .zero { try await Task.sleep(nanoseconds: UInt64(remaining.nanoseconds)) }
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

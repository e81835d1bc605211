import NIOCore
import NIOPosix
import NIOSSL

/// The stages before HTTP: proxy, DNS, TCP, proxy tunnel, TLS.
extension ProbeClient {
    /// How the TLS stage treats the certificate.
    enum TLSMode {
        /// Full verification: the only mode a request (and so a key) is sent in.
        case verified
        /// No verification, to read the certificate; used only by `inspectCertificate`.
        case inspectOnly
    }

    /// Runs the DNS, TCP, proxy-tunnel and TLS stages. Installs no HTTP
    /// handlers and writes nothing but a proxy's CONNECT.
    func open(host: String, port: Int, scheme: String, tls mode: TLSMode, deadline: NIODeadline,
              record: @Sendable (StageReport) -> Void) async -> Result<ProbeConnection, ProbeFailure> {
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
        let connection = ProbeConnection(channel: channel, deadline: deadline)

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
            let context: NIOSSLContext
            switch (mode, pool) {
            case (.verified, let pool?): context = try await pool.verifyingContext(caFile: caFile)
            case (.verified, nil): context = try Self.verifyingContext(caFile: caFile)
            case (.inspectOnly, _): context = try Self.inspectingContext()
            }
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

    /// A context that verifies the server's certificate against the system's
    /// roots and `caFile`'s.
    static func verifyingContext(caFile: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        if let caFile { configuration.additionalTrustRoots = [.file(caFile)] }
        return try NIOSSLContext(configuration: configuration)
    }

    /// A context that accepts any certificate, for `inspectCertificate` only.
    private static func inspectingContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return try NIOSSLContext(configuration: configuration)
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
            verified: verified,
            notValidBefore: certificate.map { Timestamp(millisecondsSince1970: Int64($0.notValidBefore) * 1000).iso8601 },
            names: certificate.map { CertificateNames.validNames(of: $0) })
    }

    static func describe(_ version: TLSVersion) -> String {
        switch version {
        case .tlsv13: "TLS 1.3"
        case .tlsv12: "TLS 1.2"
        case .tlsv11: "TLS 1.1"
        case .tlsv1: "TLS 1.0"
        }
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

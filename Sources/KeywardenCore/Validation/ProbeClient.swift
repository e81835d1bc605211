import Foundation
import NIOCore
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
    /// When the certificate becomes valid (`2026-01-31T12:00:00.000Z`).
    public var notValidBefore: String? = nil
    /// The names it is valid for: its subject alternative names (DNS names
    /// and IP addresses), else its common name.
    public var names: [String]? = nil

    /// One line for `doctor`: protocol, subject, issuer, expiry, verification.
    public var summary: String {
        "\(version), certificate \(subject), issued by \(subject == issuer ? "itself (self-signed)" : issuer), valid until \(notValidAfter)\(verified ? ", verified" : ", NOT verified")"
    }
}

/// A minimal HTTP/1.1 client that goes through DNS, TCP, proxy tunnel, TLS
/// and HTTP as explicit stages, so a failure is classified by the stage that
/// failed (`dns_error`, `connect_error`, `proxy_error`, `tls_error`,
/// `timeout`) and `doctor` can time each one. No redirects followed (a
/// redirect never carries the key anywhere).
///
/// Without a `pool`, each request has a connection of its own, closed after
/// the answer (`doctor`, rotation's test of a new key). With one, requests
/// to the same target share kept-alive connections (`validate`).
public struct ProbeClient: Sendable {
    public var resolver: any HostResolver
    public var proxies: ProxySettings
    /// Extra trusted CA certificates (PEM file), e.g. a corporate proxy's.
    public var caFile: String?
    public var bodyLimit = 256 * 1024
    /// Kept-alive connections to share; nil: a fresh connection per request.
    public var pool: ProbeConnectionPool?

    public init(resolver: any HostResolver = SystemResolver(), proxies: ProxySettings, caFile: String? = nil,
                pool: ProbeConnectionPool? = nil) {
        self.resolver = resolver
        self.proxies = proxies
        self.caFile = caFile
        self.pool = pool
    }

    /// Sends `request`, giving up after `timeout`. `record` receives each
    /// stage's report. The certificate is always verified: the key is written
    /// only after a verified handshake (or over plain HTTP to loopback, or
    /// where the user allowed plain HTTP). To look at a certificate that fails
    /// verification, use `inspectCertificate`, which never sends a request.
    ///
    /// With a pool, an idle connection to the same target is used first. If
    /// the request fails there before any byte of an answer arrived, the
    /// server had closed the idle connection and never saw the request: it is
    /// sent once more, on a fresh connection, within the same time limit
    /// (it still counts as one attempt).
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
        let target = ProbeTarget(request, proxy: proxy, caFile: caFile)
        if let pool, let idle = await pool.take(target) {
            record(StageReport(stage: .connect, ok: true, milliseconds: 0,
                               detail: "reused a kept-alive connection to \(idle.channel.remoteAddress?.description ?? request.host)"))
            switch await exchange(request, on: idle, proxy: proxy, target: target, deadline: deadline) {
            case .answered(let response, let report):
                record(report)
                return .success(response)
            case .failed(let failure, let report, let resendable):
                guard resendable, NIODeadline.now() < deadline else {
                    record(report)
                    return .failure(failure)
                }
            }
        }
        let connection: ProbeConnection
        switch await open(host: request.host, port: request.port, scheme: request.scheme, tls: .verified, deadline: deadline, record: record) {
        case .failure(let failure): return .failure(failure)
        case .success(let opened): connection = opened
        }
        await pool?.didOpen()
        switch await exchange(request, on: connection, proxy: proxy, target: target, deadline: deadline) {
        case .answered(let response, let report):
            record(report)
            return .success(response)
        case .failed(let failure, let report, _):
            record(report)
            return .failure(failure)
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

    /// A stage that failed, recorded: a timeout once the deadline has passed
    /// (`late` says so), else `outcome` (`otherwise` says why).
    static func failed(_ stage: ProbeStage, _ outcome: ValidationOutcome, deadline: NIODeadline, started: NIODeadline,
                       record: (StageReport) -> Void, late: String, otherwise: String) -> ProbeFailure {
        let failure = failure(stage, outcome, deadline: deadline, late: late, otherwise: otherwise)
        record(StageReport(stage: stage, ok: false, milliseconds: ms(since: started), detail: failure.detail))
        return failure
    }

    /// The failure `failed` records, not recorded.
    static func failure(_ stage: ProbeStage, _ outcome: ValidationOutcome, deadline: NIODeadline, late: String, otherwise: String) -> ProbeFailure {
        let timedOut = NIODeadline.now() >= deadline
        return ProbeFailure(stage: stage, outcome: timedOut ? .timeout : outcome, detail: timedOut ? late : otherwise)
    }

    static func ms(since start: NIODeadline) -> Double {
        Double((NIODeadline.now() - start).nanoseconds) / 1_000_000
    }

    /// A short, user-facing description of a network error.
    public static func describe(_ error: (any Error)?) -> String {
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

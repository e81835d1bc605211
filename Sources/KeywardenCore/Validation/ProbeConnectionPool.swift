import NIOCore
import NIOSSL

/// An open connection, past DNS, TCP, proxy tunnel and TLS.
struct ProbeConnection: Sendable {
    var channel: any Channel
    /// The handshake's details, for `doctor` (nil over plain HTTP).
    var tls: TLSDetails?
    /// Closes the channel when the deadline of what it is doing now passes.
    var timeoutTask: Scheduled<Void>?
    /// The HTTP handlers, once the first request has installed them.
    var exchange: NIOLoopBound<ExchangeHandler>?

    /// Closes the channel at `deadline` (replacing the previous deadline).
    mutating func expire(at deadline: NIODeadline) {
        timeoutTask?.cancel()
        let channel = channel
        timeoutTask = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
    }

    func close() {
        timeoutTask?.cancel()
        channel.close(promise: nil)
    }
}

/// Where a pooled connection leads. Two requests may share a connection only
/// if everything that decided how it was opened is the same: the target, the
/// proxy (and its credentials) and the trust settings of its TLS handshake.
struct ProbeTarget: Hashable, Sendable {
    var scheme: String
    var host: String
    var port: Int
    /// `host:port` of the proxy in effect, with its credentials; nil: direct.
    var proxy: String?
    var caFile: String?
    var allowsInsecureHTTP: Bool

    init(_ request: ProbeRequest, proxy: ProxySettings.Endpoint?, caFile: String?) {
        scheme = request.scheme
        host = request.host.lowercased()
        port = request.port
        self.proxy = proxy.map { "\($0.credentials ?? "")@\($0.host):\($0.port)" }
        self.caFile = caFile
        allowsInsecureHTTP = request.allowsInsecureHTTP
    }
}

/// Idle kept-alive connections that the checks of one validation run share:
/// keys travel in headers, so one connection carries many checks, and a run
/// of 1,000 keys against one provider opens about as many connections as
/// checks run at once, instead of 1,000 (and as many TLS handshakes).
///
/// A connection comes back only after a complete answer that allows
/// keep-alive; an idle one is closed after `idleTimeout`, and all are closed
/// by `close()` when the run ends. Only connections whose certificate was
/// verified are ever opened for requests, so every pooled TLS connection is a
/// verified one. `doctor` uses no pool: its stage timings need a fresh
/// connection.
public actor ProbeConnectionPool {
    /// How long an idle connection is kept. Shorter than the usual server
    /// keep-alive (nginx 75 s, most providers 60 s or more), so the pool
    /// rarely hands out a connection the server has just closed; when it
    /// does, the request is sent again once on a fresh connection.
    public let idleTimeout: TimeAmount
    /// Idle connections kept per target; more are closed.
    public let maxIdlePerTarget: Int

    private var idle: [ProbeTarget: [Idle]] = [:]
    private var contexts: [String: NIOSSLContext] = [:]
    private var closed = false
    /// Connections opened for requests, and requests sent on a reused one.
    public private(set) var opened = 0
    public private(set) var reused = 0

    private struct Idle {
        var connection: ProbeConnection
        var expiry: Scheduled<Void>
    }

    public init(idleTimeout: TimeAmount = .seconds(15), maxIdlePerTarget: Int = 64) {
        self.idleTimeout = idleTimeout
        self.maxIdlePerTarget = max(1, maxIdlePerTarget)
    }

    /// An idle connection to `target` that is still open, or nil.
    func take(_ target: ProbeTarget) -> ProbeConnection? {
        while let entry = idle[target]?.popLast() {
            entry.expiry.cancel()
            if entry.connection.channel.isActive {
                reused += 1
                return entry.connection
            }
            entry.connection.close()
        }
        return nil
    }

    /// Counts a connection opened for a request to `target`.
    func didOpen() { opened += 1 }

    /// Keeps `connection` for the next request to `target`, or closes it
    /// when the pool is closed or full.
    func put(_ connection: ProbeConnection, for target: ProbeTarget) {
        guard !closed, connection.channel.isActive, idle[target, default: []].count < maxIdlePerTarget else {
            connection.close()
            return
        }
        connection.timeoutTask?.cancel()
        var kept = connection
        kept.timeoutTask = nil
        let channel = connection.channel
        let expiry = channel.eventLoop.scheduleTask(in: idleTimeout) { channel.close(promise: nil) }
        idle[target, default: []].append(Idle(connection: kept, expiry: expiry))
    }

    /// The TLS context for verified handshakes with `caFile`'s extra roots,
    /// built once per pool: building one reads the system's trust store.
    func verifyingContext(caFile: String?) throws -> NIOSSLContext {
        if let context = contexts[caFile ?? ""] { return context }
        let context = try ProbeClient.verifyingContext(caFile: caFile)
        contexts[caFile ?? ""] = context
        return context
    }

    /// Closes every idle connection; connections handed back later are
    /// closed too.
    public func close() async {
        closed = true
        let connections = idle.values.flatMap { $0 }
        idle = [:]
        for entry in connections {
            entry.expiry.cancel()
            entry.connection.close()
        }
        for entry in connections { try? await entry.connection.channel.closeFuture.get() }
    }
}

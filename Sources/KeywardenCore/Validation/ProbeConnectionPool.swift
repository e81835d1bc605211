import NIOCore
import NIOSSL

/// An open connection, past DNS, TCP, proxy tunnel and TLS.
struct ProbeConnection: Sendable {
    var channel: any Channel
    /// The handshake's details, for `doctor` (nil over plain HTTP).
    var tls: TLSDetails?
    /// Closes the channel if opening it (and installing its HTTP handlers)
    /// outlasts the deadline; cancelled once a request is under way, which
    /// `ExchangeHandler` times on the channel's own event loop.
    var openDeadline: Scheduled<Void>?
    /// The HTTP handlers, once the first request has installed them.
    var exchange: NIOLoopBound<ExchangeHandler>?

    init(channel: any Channel, deadline: NIODeadline) {
        self.channel = channel
        openDeadline = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
    }

    func close() {
        openDeadline?.cancel()
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
    /// Closes connections idle for longer than `idleTimeout`, while any are kept.
    private var sweeper: Task<Void, Never>?
    /// Connections opened for requests, and requests sent on a reused one.
    public private(set) var opened = 0
    public private(set) var reused = 0

    private struct Idle {
        var connection: ProbeConnection
        var since: NIODeadline
    }

    public init(idleTimeout: TimeAmount = .seconds(15), maxIdlePerTarget: Int = 64) {
        self.idleTimeout = idleTimeout
        self.maxIdlePerTarget = max(1, maxIdlePerTarget)
    }

    /// An idle connection to `target` that is still open, or nil.
    func take(_ target: ProbeTarget) -> ProbeConnection? {
        let now = NIODeadline.now()
        while let entry = idle[target]?.popLast() {
            if entry.connection.channel.isActive, now - entry.since < idleTimeout {
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
    /// when the pool is closed or full. No timer per connection: idle ones
    /// are closed by one sweep per `idleTimeout` (each timer set or cancelled
    /// from outside its event loop wakes that loop up).
    func put(_ connection: ProbeConnection, for target: ProbeTarget) {
        guard !closed, connection.channel.isActive, idle[target, default: []].count < maxIdlePerTarget else {
            connection.close()
            return
        }
        idle[target, default: []].append(Idle(connection: connection, since: .now()))
        if sweeper == nil {
            sweeper = Task { await self.sweepWhileKept() }
        }
    }

    private func sweepWhileKept() async {
        while !closed, !idle.isEmpty {
            try? await Task.sleep(nanoseconds: UInt64(idleTimeout.nanoseconds))
            let now = NIODeadline.now()
            for (target, entries) in idle {
                let (stale, fresh) = (entries.filter { now - $0.since >= idleTimeout }, entries.filter { now - $0.since < idleTimeout })
                for entry in stale { entry.connection.close() }
                idle[target] = fresh.isEmpty ? nil : fresh
            }
        }
        sweeper = nil
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
        sweeper?.cancel()
        let connections = idle.values.flatMap { $0 }.map(\.connection)
        idle = [:]
        for connection in connections { connection.close() }
        for connection in connections { try? await connection.channel.closeFuture.get() }
    }
}

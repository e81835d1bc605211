import AsyncHTTPClient
import KeywardenLaunch
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The gateway's own plain-HTTP upstream connections, for the fast path
/// (``RawForwarding``, ``FastForwarding``): HTTP/1.1 keep-alive connections
/// kept per event loop and `host:port`, each used by one exchange at a time
/// on the event loop of the client connection it serves. A request never
/// leaves that event loop, so no lock, task or hop sits between the
/// client's bytes and the provider's.
///
/// They carry bytes, not HTTP parts: the request goes out as written
/// (``UpstreamRequestBytes``) and the answer is read by
/// ``UpstreamAnswerReader``, whose body bytes a raw client gets as they
/// arrived. NIO's client codec decoded each answer and a proxy then
/// encoded it again: two of the largest costs of a forwarded request
/// (perf, scripts/bench.sh gateway).
///
/// Only for `http://` providers (loopback, or `--allow-insecure-http`): no
/// proxy ever applies to them and there is no TLS. `https` goes through
/// AsyncHTTPClient (``UpstreamClients``), with HTTP/2 where offered.
final class UpstreamConnections: Sendable {
    private struct Loops {
        var closed = false
        var pools: [ObjectIdentifier: NIOLoopBound<LoopUpstreamConnections>] = [:]
    }

    private let settings: GatewaySettings
    private let loops = NIOLockedValueBox(Loops())

    init(settings: GatewaySettings) {
        self.settings = settings
    }

    /// The connections of `eventLoop`, made on first use; call it on that
    /// event loop. nil once the gateway shuts down.
    func onLoop(_ eventLoop: any EventLoop) -> LoopUpstreamConnections? {
        eventLoop.preconditionInEventLoop()
        return loops.withLockedValue { loops -> LoopUpstreamConnections? in
            guard !loops.closed else { return nil }
            let id = ObjectIdentifier(eventLoop)
            if let held = loops.pools[id] { return held.value }
            let made = LoopUpstreamConnections(eventLoop: eventLoop, settings: settings)
            loops.pools[id] = NIOLoopBound(made, eventLoop: eventLoop)
            return made
        }
    }

    /// Closes every idle connection; connections still answering close when their exchange ends.
    func shutdown() async {
        let all = loops.withLockedValue { loops in
            loops.closed = true
            return Array(loops.pools.values)
        }
        for pool in all {
            try? await pool.eventLoop.submit { pool.value.close() }.get()
        }
    }
}

/// Where an exchange goes: `host:port`, and what its request line and `Host` say.
struct UpstreamAddress {
    var host: String
    var port: Int
    /// `host[:port]` as the URL spells it, for the `Host` field.
    var authority: String
    /// The origin-form target: path and query.
    var pathAndQuery: String
    /// The pool's key for connections to this address.
    var key: String { "\(host):\(port)" }

    /// `http://host[:port]/path?query`; nil for anything else (another
    /// scheme, user info): such requests take the slow path.
    init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(7)
        let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<end]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var path = String(rest[end...])
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        var host: Substring
        var port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()) else { return nil }
                port = parsed
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let parsed = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = parsed
        } else {
            host = authority
        }
        guard (1...65535).contains(port), !host.isEmpty else { return nil }
        // As for AsyncHTTPClient (`dnsOverride`): `localhost` never goes to DNS.
        self.host = host.lowercased() == "localhost" ? "127.0.0.1" : String(host)
        self.port = port
        self.authority = String(authority)
        pathAndQuery = path
    }
}

extension UpstreamAddress {
    /// This address (a base URL's, ``UpstreamRequest/Base/plainAddress``)
    /// with the target of `url`, a URL made from the base's text by
    /// ``UpstreamRequest/url(base:remainder:query:)``: the base is not parsed again.
    func target(of url: String, baseText: String) -> UpstreamAddress {
        var address = self
        let basePath = pathAndQuery == "/" ? "" : pathAndQuery
        var path = basePath + Substring(url.utf8.dropFirst(baseText.utf8.count))
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        address.pathAndQuery = path
        return address
    }
}

/// Receives one exchange's answer, on the event loop.
protocol UpstreamExchangeDelegate: AnyObject {
    func upstreamHead(_ head: UpstreamAnswerReader.Head)
    /// Body bytes as they arrived, framing included (``UpstreamAnswerReader/Event/wire(_:)``).
    func upstreamWire(_ bytes: ByteBuffer)
    /// Body bytes without framing.
    func upstreamData(_ bytes: ByteBuffer)
    /// A read of the upstream socket ended: the moment to flush what was passed on.
    func upstreamReadComplete()
    func upstreamEnd()
    /// The exchange failed: before the answer's head (`answered` false) or after it.
    func upstreamFailed(_ error: any Error, answered: Bool)
}

/// One event loop's upstream connections: idle ones by `host:port`, reused
/// newest first (the least likely to have been closed by the server).
final class LoopUpstreamConnections {
    let eventLoop: any EventLoop
    let settings: GatewaySettings
    /// As AsyncHTTPClient's pool (``UpstreamClients``).
    static let idleTimeout = TimeAmount.seconds(60)
    private var idle: [String: [UpstreamConnection]] = [:]
    private var closed = false

    init(eventLoop: any EventLoop, settings: GatewaySettings) {
        self.eventLoop = eventLoop
        self.settings = settings
    }

    /// Starts sending `request` (a whole request's bytes) to `address`; the answer goes to `delegate`.
    func exchange(to address: UpstreamAddress, request: ByteBuffer, delegate: any UpstreamExchangeDelegate) -> UpstreamExchange {
        let exchange = UpstreamExchange(pool: self, address: address, request: request, delegate: delegate)
        exchange.start()
        return exchange
    }

    fileprivate var isClosed: Bool { closed }

    /// An idle connection to `key` that is still open, taken out of the idle list.
    fileprivate func takeIdle(_ key: String) -> UpstreamConnection? {
        while var list = idle[key], let connection = list.popLast() {
            idle[key] = list.isEmpty ? nil : list
            connection.idleTimer?.cancel()
            connection.idleTimer = nil
            if connection.channel.isActive { return connection }
            connection.channel.close(promise: nil)
        }
        return nil
    }

    /// A connection whose exchange ended cleanly, kept for the next one to its address.
    fileprivate func release(_ connection: UpstreamConnection) {
        guard !closed, connection.channel.isActive else {
            connection.channel.close(promise: nil)
            return
        }
        connection.handler.resumeReading()
        idle[connection.key, default: []].append(connection)
        connection.idleTimer = eventLoop.assumeIsolated().scheduleTask(in: Self.idleTimeout) { [weak self, weak connection] () -> Void in
            guard let self, let connection else { return }
            self.drop(connection)
            connection.channel.close(promise: nil)
        }
    }

    /// An idle connection closed (by the server, or its idle time ran out).
    fileprivate func drop(_ connection: UpstreamConnection) {
        connection.idleTimer?.cancel()
        connection.idleTimer = nil
        guard var list = idle[connection.key] else { return }
        list.removeAll { $0 === connection }
        idle[connection.key] = list.isEmpty ? nil : list
    }

    /// The agent shuts down: idle connections close, no new ones open, and
    /// the ones still answering close when they are done.
    func close() {
        closed = true
        let all = idle.values.flatMap { $0 }
        idle.removeAll()
        for connection in all {
            connection.idleTimer?.cancel()
            connection.channel.close(promise: nil)
        }
    }
}

/// One upstream keep-alive connection and the exchange it carries now (nil while idle).
final class UpstreamConnection {
    let channel: any Channel
    let handler: UpstreamHandler
    let key: String
    weak var pool: LoopUpstreamConnections?
    var exchange: UpstreamExchange?
    var idleTimer: Scheduled<Void>?

    init(channel: any Channel, handler: UpstreamHandler, key: String, pool: LoopUpstreamConnections) {
        self.channel = channel
        self.handler = handler
        self.key = key
        self.pool = pool
    }

    fileprivate func received(_ bytes: ByteBuffer) {
        guard let exchange else {
            // Bytes while idle answer nothing that was asked: the connection cannot be trusted with the next request.
            pool?.drop(self)
            channel.close(promise: nil)
            return
        }
        exchange.received(bytes)
    }
    fileprivate func readComplete() { exchange?.readComplete() }
    fileprivate func failed(_ error: any Error) { exchange?.connectionFailed(error) }

    fileprivate func closed() {
        if let exchange {
            exchange.connectionFailed(nil)
        } else {
            pool?.drop(self)
        }
    }
}

/// The only handler of an upstream connection: passes the answer's bytes
/// to the connection's exchange, and holds the socket's reads while the
/// client cannot take more (backpressure: what is not read stays in the
/// kernel's buffers and the provider's TCP window closes).
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    weak var connection: UpstreamConnection?
    private var context: ChannelHandlerContext?
    private var paused = false
    private var readPending = false

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection?.received(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection?.readComplete()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection?.failed(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.closed()
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            readPending = true
        } else {
            context.read()
        }
    }

    func send(_ request: ByteBuffer, promise: EventLoopPromise<Void>) {
        guard let context else {
            promise.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.writeAndFlush(wrapOutboundOut(request), promise: promise)
    }

    func pauseReading() { paused = true }

    func resumeReading() {
        paused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }
}

/// One request sent upstream and its answer, with the connection rules:
/// a connection is reused only after a clean, keep-alive end with nothing
/// after it; a request
/// sent on a reused connection the server had already closed (no byte of
/// an answer came back) is sent once more on a new connection — not a new
/// attempt, the provider never saw it; the head must arrive within
/// `headTimeout` of the start (connecting included, as AsyncHTTPClient's
/// deadline), then the body may be silent at most `streamIdleTimeout`
/// (while the client is not holding it back).
///
/// The request's bytes hold the key: they are wiped when the exchange is dropped.
final class UpstreamExchange {
    private let pool: LoopUpstreamConnections
    private let address: UpstreamAddress
    private let request: ByteBuffer
    private var reader = UpstreamAnswerReader()
    private var delegate: (any UpstreamExchangeDelegate)?
    private var connection: UpstreamConnection?
    private var reused = false
    private var resent = false
    private var answered = false
    /// The request's bytes are all in the kernel's hands: a server may answer
    /// before reading them all, and a connection with some still to write is
    /// never reused.
    private var written = false
    private var sends = 0
    private var keepAlive = true
    private var paused = false
    private var finished = false
    private var headTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var lastActivity = NIODeadline.now()

    fileprivate init(pool: LoopUpstreamConnections, address: UpstreamAddress, request: ByteBuffer, delegate: any UpstreamExchangeDelegate) {
        self.pool = pool
        self.address = address
        self.request = request
        self.delegate = delegate
    }

    deinit {
        // Written, or never to be: each write holds the exchange until NIO
        // has let go of the bytes (``send(on:)``).
        request.wipeReadableBytes()
    }

    private var loop: NIOIsolatedEventLoop { pool.eventLoop.assumeIsolated() }

    fileprivate func start() {
        headTimer = loop.scheduleTask(in: pool.settings.headTimeout) { [weak self] () -> Void in
            self?.fail(HTTPClientError.deadlineExceeded)
        }
        guard !pool.isClosed else {
            // Never from inside `start`: the delegate is still setting up.
            loop.execute { [weak self] () -> Void in self?.fail(HTTPClientError.alreadyShutdown) }
            return
        }
        if let idle = pool.takeIdle(address.key) {
            reused = true
            send(on: idle)
        } else {
            connect()
        }
    }

    private func connect() {
        let key = address.key
        let bootstrap = ClientBootstrap(group: pool.eventLoop)
            .connectTimeout(pool.settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
        let connecting: EventLoopFuture<any Channel>
        if let ip = try? SocketAddress(ipAddress: address.host, port: address.port) {
            connecting = bootstrap.connect(to: ip)
        } else {
            connecting = bootstrap.connect(host: address.host, port: address.port)
        }
        connecting.assumeIsolated().whenComplete { [weak self] result in
            switch result {
            case .success(let channel):
                guard let self, !self.finished, let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                else {
                    channel.close(promise: nil)
                    return
                }
                let connection = UpstreamConnection(channel: channel, handler: handler, key: key, pool: self.pool)
                handler.connection = connection
                self.send(on: connection)
            case .failure(let error):
                self?.fail(error)
            }
        }
    }

    private func send(on connection: UpstreamConnection) {
        self.connection = connection
        connection.exchange = self
        if paused { connection.handler.pauseReading() }
        written = false
        sends += 1
        let send = sends
        let promise = pool.eventLoop.makePromise(of: Void.self)
        // Holds the exchange, and with it the bytes it wipes when dropped, until NIO has let go of them.
        promise.futureResult.assumeIsolated().whenComplete { _ in
            if self.sends == send { self.written = true }
        }
        connection.handler.send(request, promise: promise)
    }

    fileprivate func received(_ bytes: ByteBuffer) {
        guard !finished else { return }
        lastActivity = .now()
        do {
            try reader.read(bytes) { event in handle(event) }
        } catch {
            fail(error)
        }
    }

    private func handle(_ event: UpstreamAnswerReader.Event) {
        guard !finished else { return }
        switch event {
        case .head(let answer):
            answered = true
            keepAlive = answer.keepAlive
            headTimer?.cancel()
            headTimer = nil
            scheduleIdleCheck(in: pool.settings.streamIdleTimeout)
            delegate?.upstreamHead(answer)
        case .wire(let bytes):
            delegate?.upstreamWire(bytes)
        case .data(let bytes):
            delegate?.upstreamData(bytes)
        case .end(let extra):
            finished = true
            idleTimer?.cancel()
            let delegate = delegate
            self.delegate = nil
            if let connection {
                connection.exchange = nil
                self.connection = nil
                // Bytes after the answer: not HTTP/1.1 as agreed, so never reused.
                if keepAlive, !extra, written { pool.release(connection) } else { connection.channel.close(promise: nil) }
            }
            delegate?.upstreamEnd()
        }
    }

    fileprivate func readComplete() {
        guard !finished else { return }
        delegate?.upstreamReadComplete()
    }

    /// The connection broke (`error`) or closed (nil).
    fileprivate func connectionFailed(_ error: (any Error)?) {
        guard !finished else { return }
        if error == nil, reader.sawBytes {
            // An answer without a length ends when the server closes.
            do {
                try reader.inputClosed { event in handle(event) }
                if finished { return }
            } catch {
                fail(error)
                return
            }
        }
        if reused, !resent, !reader.sawBytes {
            // The server had closed the idle connection: the request never reached it.
            resent = true
            reused = false
            detach(close: true)
            connect()
            return
        }
        fail(error ?? HTTPClientError.remoteConnectionClosed)
    }

    private func scheduleIdleCheck(in delay: TimeAmount) {
        idleTimer = loop.scheduleTask(in: delay) { [weak self] () -> Void in
            guard let self, !self.finished else { return }
            let timeout = self.pool.settings.streamIdleTimeout
            if self.paused {
                self.scheduleIdleCheck(in: timeout)
                return
            }
            let silent = NIODeadline.now() - self.lastActivity
            if silent >= timeout {
                self.fail(HTTPClientError.readTimeout)
            } else {
                self.scheduleIdleCheck(in: timeout - silent)
            }
        }
    }

    /// Stops reading the answer while the client cannot take more.
    func pauseReading() {
        paused = true
        connection?.handler.pauseReading()
    }

    func resumeReading() {
        paused = false
        lastActivity = .now()
        connection?.handler.resumeReading()
    }

    /// The client left, or the answer is not wanted: the connection closes
    /// (what is left of the answer is never read into a reused connection).
    func cancel() {
        guard !finished else { return }
        finished = true
        delegate = nil
        headTimer?.cancel()
        idleTimer?.cancel()
        detach(close: true)
    }

    private func fail(_ error: any Error) {
        guard !finished else { return }
        finished = true
        headTimer?.cancel()
        idleTimer?.cancel()
        detach(close: true)
        let delegate = delegate
        self.delegate = nil
        delegate?.upstreamFailed(error, answered: answered)
    }

    private func detach(close: Bool) {
        guard let connection else { return }
        connection.exchange = nil
        self.connection = nil
        if close { connection.channel.close(promise: nil) }
    }
}

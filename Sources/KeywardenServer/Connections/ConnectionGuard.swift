#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPeerCredentials
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// How many connections the agent accepts from whom, and how long a
/// connection may stay silent before its first request. A member of
/// `--socket-group` (or any other uid allowed to connect) cannot use up the
/// agent's file descriptors: each such uid has at most `perUID` connections,
/// all of them together at most `othersTotal`, and the rest of the
/// descriptors stay for the owner (and root), who is never limited here.
public struct ConnectionLimits: Sendable {
    /// Concurrent connections per uid other than the owner's and root's.
    public var perUID: Int
    /// Concurrent connections of all other uids together.
    public var othersTotal: Int
    /// A connection that has not sent a complete first request by then is closed.
    public var firstRequestTimeout: TimeAmount

    public init(perUID: Int = 64, othersTotal: Int, firstRequestTimeout: TimeAmount = .seconds(5)) {
        self.perUID = perUID
        self.othersTotal = othersTotal
        self.firstRequestTimeout = firstRequestTimeout
    }

    /// Limits for a process allowed `descriptors` open files: other uids
    /// share at most half of them, less a reserve for the agent itself.
    public static func forDescriptorLimit(_ descriptors: Int) -> ConnectionLimits {
        ConnectionLimits(othersTotal: max(16, min(4096, (descriptors - 64) / 2)))
    }

    /// Raises the soft limit on open files to the hard limit (the service
    /// manager's ceiling) and returns it, so that limits derive from what the
    /// agent may really open.
    public static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: min(limit.rlim_cur, rlim_t(Int32.max)))
    }
}

/// Counts open connections by uid and admits or refuses new ones.
final class ConnectionLimiter: Sendable {
    private struct Counts {
        var byUID: [UInt32: Int] = [:]
        var others = 0
    }

    let limits: ConnectionLimits
    let owner: UInt32
    private let counts = NIOLockedValueBox(Counts())

    init(limits: ConnectionLimits, owner: UInt32 = getuid()) {
        self.limits = limits
        self.owner = owner
    }

    /// Whether `uid` may open one more connection; if so it is counted.
    func admit(_ uid: UInt32) -> Bool {
        if uid == owner || uid == 0 { return true }
        return counts.withLockedValue { counts in
            guard counts.others < limits.othersTotal, counts.byUID[uid, default: 0] < limits.perUID else { return false }
            counts.others += 1
            counts.byUID[uid, default: 0] += 1
            return true
        }
    }

    func release(_ uid: UInt32) {
        if uid == owner || uid == 0 { return }
        counts.withLockedValue { counts in
            counts.others -= 1
            let left = counts.byUID[uid, default: 1] - 1
            counts.byUID[uid] = left > 0 ? left : nil
        }
    }
}

/// The first handler after HTTP decoding on every connection: reads the
/// peer's uid from the kernel, closes the connection at once when its uid is
/// over its limit, and closes it after `firstRequestTimeout` unless a complete
/// request (head and end) arrived by then.
final class ConnectionGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let limiter: ConnectionLimiter
    private let logger: Logger
    private var started = false
    private var admittedUID: UInt32?
    private var timeout: Scheduled<Void>?

    init(limiter: ConnectionLimiter, logger: Logger) {
        self.limiter = limiter
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let channel = context.channel
        timeout = context.eventLoop.scheduleTask(in: limiter.limits.firstRequestTimeout) {
            channel.close(promise: nil)
        }
        // Fails closed: a channel whose peer cannot be identified is not served.
        guard let provider = channel as? any SocketOptionProvider else {
            logger.warning("closed a connection whose peer credentials cannot be read")
            channel.close(promise: nil)
            return
        }
        let peer: EventLoopFuture<kw_ucred> = provider.unsafeGetSocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: kw_so_peercred()))
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let logger = self.logger
        peer.whenComplete { result in
            let handler = loopBound.value
            guard case .success(let credentials) = result else {
                channel.close(promise: nil)
                return
            }
            if handler.limiter.admit(credentials.uid) {
                handler.admittedUID = credentials.uid
                // Closed before the answer came: give the slot back now.
                if !channel.isActive { handler.releaseSlot() }
            } else {
                logger.warning("refused a connection from uid \(credentials.uid), pid \(credentials.pid): too many open connections for that uid")
                channel.close(promise: nil)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            timeout?.cancel()
            timeout = nil
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        releaseSlot()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        releaseSlot()
    }

    private func releaseSlot() {
        if let uid = admittedUID {
            admittedUID = nil
            limiter.release(uid)
        }
    }
}

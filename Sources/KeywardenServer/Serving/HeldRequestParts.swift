import NIOCore
import NIOHTTPTypes

/// The request-order rules of a handler placed after Hummingbird's
/// connection state handler that answers some HTTP/1.1 requests itself on
/// the event loop and hands the others to Hummingbird unchanged
/// (``HotKeyReads``, ``FastForwarding``): HTTP/1.1 answers go out in request
/// order, so while the handler is busy answering, the request parts that
/// arrive, the end of input and reads of the socket are held; once it is
/// done they are replayed in order.
final class HeldRequestParts {
    private enum Held {
        case part(HTTPRequestPart)
        case inputClosed
        case error(any Error)
    }

    private var held = CircularBuffer<Held>()
    private var readHeld = false
    /// Parts handed to Hummingbird outside a read of the channel's (held
    /// ones, replayed after an answer): they need a read complete of their
    /// own, or Hummingbird's inbound stream, which passes reads on at a read
    /// complete, keeps them until the next bytes arrive (this cost a CI
    /// failure once).
    private var forwardedOutsideRead = false
    private var inRead = false

    /// Nothing is held.
    var isEmpty: Bool { held.isEmpty }

    /// A part read from the channel: held while `busy`, else handled now.
    func channelRead(_ part: HTTPRequestPart, busy: Bool, handle: (HTTPRequestPart) -> Void) {
        if busy {
            held.append(.part(part))
            return
        }
        inRead = true
        defer { inRead = false }
        handle(part)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        forwardedOutsideRead = false
        context.fireChannelReadComplete()
    }

    /// The end of input must not overtake an answer being prepared.
    func userInboundEventTriggered(_ event: Any, busy: Bool, context: ChannelHandlerContext) {
        if busy, let event = event as? ChannelEvent, event == .inputClosed {
            held.append(.inputClosed)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// An error from below (a malformed request the decoder refused, say)
    /// must not overtake an answer being prepared either: Hummingbird closes
    /// the connection on it, which would cut that answer off.
    func errorCaught(_ error: any Error, busy: Bool, context: ChannelHandlerContext) {
        if busy {
            held.append(.error(error))
            return
        }
        context.fireErrorCaught(error)
    }

    /// A read of the socket asked for: held while `busy` once something is
    /// held. A client that waits for its answer (nearly all: pipelining is
    /// rare) sends nothing meanwhile, so reading on costs nothing, while
    /// holding the read made NIO drop the socket's read interest and take
    /// it again for every request: two `epoll_ctl` calls, 3% of the
    /// gateway's CPU per request (perf, scripts/bench.sh gateway). A client
    /// that does pipeline is held after one read's worth of parts.
    func read(busy: Bool, context: ChannelHandlerContext) {
        if busy && !held.isEmpty {
            readHeld = true
            return
        }
        context.read()
    }

    /// Passes a request part on to Hummingbird.
    func forward(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        if !inRead { forwardedOutsideRead = true }
        context.fireChannelRead(NIOAny(part))
    }

    /// After an answer or a hand-over: what arrived meanwhile (until the
    /// handler is busy again), then reading.
    func resume(context: ChannelHandlerContext, busy: () -> Bool, handle: (HTTPRequestPart) -> Void) {
        while !busy(), let next = held.popFirst() {
            switch next {
            case .part(let part): handle(part)
            case .inputClosed: context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            case .error(let error): context.fireErrorCaught(error)
            }
        }
        if forwardedOutsideRead {
            forwardedOutsideRead = false
            context.fireChannelReadComplete()
        }
        if !busy(), readHeld {
            readHeld = false
            context.read()
        }
    }
}

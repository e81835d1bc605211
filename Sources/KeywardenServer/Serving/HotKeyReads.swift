import HTTPTypes
import KeywardenCore
import NIOCore
import NIOHTTPTypes

/// Answers the agent's hot path — `GET /v1/keys/{provider}?scope=S` from the
/// agent's owner (or root) for a key in the cache — on the connection's event
/// loop, and hands every other request to Hummingbird's router unchanged.
///
/// Through the router, each request hops from the event loop to a task on
/// the concurrency pool and back, through two middlewares and a route; that
/// capped the agent near 16k requests/s on two cores whatever the route did
/// (scripts/bench.sh). Here a hot read is a cache lookup, a copy of the
/// cached answer and a write. Nothing is skipped: the caller is the kernel's
/// (`SO_PEERCRED`), anyone but the owner goes to the router (tokens are
/// checked there), a locked agent's or a missing key's answer comes from the
/// router, the request is counted in the same metrics, and the value leaves
/// only once its `agent.serve` event is durable — except a repeat inside the
/// window of an identical serve already durable on this connection
/// (``ServeWindows``), which is counted into the next commit.
///
/// It sits after Hummingbird's connection state handler (idle timeout,
/// graceful shutdown), which sees these requests and answers like any other.
/// HTTP/1.1 answers go out in request order: while the router owes an answer
/// every request goes to the router, and while this handler waits (for the
/// peer or a commit) it holds later requests and reads. Repeats that arrive
/// as plain bytes are answered before decoding (``RawKeyReads``); the two
/// share the connection's state (``HotConnection``).
final class HotKeyReads: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The route's template, as the router's metrics name it.
    static let route = "/v1/keys/{provider}"

    private let connection: HotConnection
    /// A hot request whose head is held until its end arrives.
    private var reading: (request: HotKeyRequest, head: HTTPRequest)?
    /// What waits while an answer is prepared (a peer lookup, a commit).
    private let holding = HeldRequestParts()

    init(connection: HotConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        holding.channelRead(unwrapInboundIn(data), busy: connection.busy) { handle($0, context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        holding.channelReadComplete(context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        holding.userInboundEventTriggered(event, busy: connection.busy, context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        holding.errorCaught(error, busy: connection.busy, context: context)
    }

    func read(context: ChannelHandlerContext) {
        holding.read(busy: connection.busy, context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), connection.routerAnswersDue > 0 { connection.routerAnswersDue -= 1 }
        context.write(data, promise: promise)
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            connection.lastDecoded = .now()
            connection.betweenRequests = false
            if connection.routerAnswersDue == 0, let request = HotKeyRequest(head) {
                reading = (request, head)
            } else {
                connection.routerAnswersDue += 1
                forward(part, context: context)
            }
        case .body:
            if let (_, head) = reading {
                // A body after all: the router reads this request.
                reading = nil
                connection.routerAnswersDue += 1
                forward(.head(head), context: context)
            }
            forward(part, context: context)
        case .end:
            connection.betweenRequests = true
            if let (request, head) = reading {
                reading = nil
                answer(request, head, context: context)
            } else {
                forward(part, context: context)
            }
        }
    }

    private func answer(_ request: HotKeyRequest, _ head: HTTPRequest, context: ChannelHandlerContext) {
        let started = NIODeadline.now()
        if let peer = connection.peer {
            answer(request, head, peer: peer, started: started, context: context)
            return
        }
        connection.busy = true
        let peers = connection.agent.access.peers
        let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        peers.peer(of: context.channel, head: head).whenComplete { result in
            let (self_, context) = handler.value
            switch result {
            case .success(let peer):
                if peers.samePeerPerConnection { self_.connection.peer = peer }
                self_.answer(request, head, peer: peer, started: started, context: context)
            case .failure:
                // The router refuses a caller it cannot identify (403, audited).
                self_.route(head, context: context)
            }
        }
    }

    private func answer(_ request: HotKeyRequest, _ head: HTTPRequest, peer: PeerCredentials, started: NIODeadline, context: ChannelHandlerContext) {
        switch connection.decide(request, purpose: head.headerFields.keywardenPurpose, peer: peer, now: started, allocator: context.channel.allocator) {
        case .route:
            route(head, context: context)
        case .repeated(let body):
            send(.ok, body, started: started, context: context)
        case .first(let event, let repeats, let serve, let keyID, let body):
            connection.busy = true
            let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            connection.agent.audit.record([event]) { result in
                eventLoop.execute {
                    let (self_, context) = handler.value
                    switch result {
                    case .success:
                        self_.connection.windows.open(serve, keyID: keyID, repeats: repeats, now: .now())
                        self_.send(.ok, body, started: started, context: context)
                    case .failure(let error):
                        // As the router answers: 503 when the audit cannot be written, 423 once locked.
                        let failure = error as? KeywardenError ?? .auditUnavailable("\(error)")
                        self_.send(failure.status, ServiceFailure(error: failure.message, kind: failure.kind).body, started: started, context: context)
                    }
                }
            }
        }
    }

    private func send(_ status: HTTPResponse.Status, _ body: ByteBuffer, started: NIODeadline, context: ChannelHandlerContext) {
        connection.answered(status, started: started)
        context.write(wrapOutboundOut(.head(connection.heads.head(status: status, contentLength: body.readableBytes))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        resume(context)
    }

    /// Hands a held hot request to the router after all.
    private func route(_ head: HTTPRequest, context: ChannelHandlerContext) {
        connection.routerAnswersDue += 1
        forward(.head(head), context: context)
        forward(.end(nil), context: context)
        resume(context)
    }

    /// Passes a request part on to the router.
    private func forward(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        holding.forward(part, context: context)
    }

    /// After an answer or a hand-over: what arrived meanwhile, then reading.
    private func resume(_ context: ChannelHandlerContext) {
        connection.busy = false
        holding.resume(context: context, busy: { connection.busy }) { handle($0, context: context) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPTypes
import Hummingbird
import HummingbirdCore
import KeywardenCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// The gateway's fast path on its loopback TCP listener, after HTTP
/// decoding: forwards a request it can serve completely on the connection's
/// event loop — through the gateway's own upstream connections
/// (``UpstreamConnections``) — and hands every other request to
/// Hummingbird's ``GatewayResponder`` unchanged. Most fast requests never
/// reach it: ``RawForwarding`` takes them before decoding; it sees the
/// first request of a connection, one every ``RawForwarding/decodeAtLeastEvery``,
/// and those the raw reader is unsure of.
///
/// Through Hummingbird and AsyncHTTPClient each request crossed between the
/// event loop and the concurrency pool several times (Hummingbird's task,
/// AHC's transaction and body streams): ~410 µs of CPU per request, 10% of
/// the mock's direct throughput (scripts/bench.sh gateway). Here a request is
/// parsed, checked, written upstream and its answer written back on one
/// event loop.
///
/// It takes a request only when nothing needs waiting for
/// (``FastAdmission``) and its body has a `Content-Length` (or there is
/// none). Once taken, the attempts follow the same decisions as the slow
/// path's (``AttemptPlan``), in ``FastRequest``.
///
/// It sits after Hummingbird's connection state handler (idle timeout,
/// graceful shutdown), which sees every request and answer. HTTP/1.1 answers
/// go out in request order: while Hummingbird owes an answer every request
/// goes to Hummingbird, and while this handler answers it holds later
/// requests and reads (as ``HotKeyReads`` does).
final class FastForwarding: ChannelDuplexHandler, RemovableChannelHandler, FastClient {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A request taken, read to its end before the first attempt.
    private struct Reading {
        var head: HTTPRequest
        var taken: FastTaken
    }

    let gateway: Gateway
    private var upstream: LoopUpstreamConnections?
    private var ports: (client: Int, server: Int)?
    private var context: ChannelHandlerContext?
    /// Requests handed to Hummingbird whose answer has not ended yet.
    private var slowAnswersDue = 0
    private var reading: Reading?
    /// The request being answered here: later requests and reads wait.
    private var answering: FastRequest?
    private let holding = HeldRequestParts()
    private var date = DateField()

    /// The decoder refused this connection's bytes: Hummingbird answers 400
    /// and closes, and nothing more may be answered ahead of that.
    private var decoderFailed = false

    /// Nothing is being read, answered or held here, and Hummingbird owes no
    /// answer: ``RawForwarding`` may answer the next request itself.
    var isIdle: Bool { slowAnswersDue == 0 && answering == nil && reading == nil && holding.isEmpty && !decoderFailed }

    init(gateway: Gateway) {
        self.gateway = gateway
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        upstream = gateway.clients.connections.onLoop(context.eventLoop)
        ports = context.channel.peerPorts
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        answering?.clientLeft()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        holding.channelRead(unwrapInboundIn(data), busy: answering != nil) { handle($0, context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        holding.channelReadComplete(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        answering?.clientLeft()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        answering?.clientWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        holding.userInboundEventTriggered(event, busy: answering != nil, context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        decoderFailed = true
        holding.errorCaught(error, busy: answering != nil, context: context)
    }

    func read(context: ChannelHandlerContext) {
        holding.read(busy: answering != nil, context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), slowAnswersDue > 0 { slowAnswersDue -= 1 }
        context.write(data, promise: promise)
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            if slowAnswersDue == 0, let taken = take(head) {
                reading = Reading(head: head, taken: taken)
            } else {
                slowAnswersDue += 1
                forward(part, context: context)
            }
        case .body(let buffer):
            if reading != nil {
                if reading!.taken.body.readableBytes == 0 { reading!.taken.body = buffer } else { reading!.taken.body.writeImmutableBuffer(buffer) }
            } else {
                forward(part, context: context)
            }
        case .end:
            if let read = reading {
                reading = nil
                start(read, context: context)
            } else {
                forward(part, context: context)
            }
        }
    }

    /// The request `head` starts, if the fast path can serve it whole.
    private func take(_ head: HTTPRequest) -> FastTaken? {
        let fields = head.headerFields
        guard upstream != nil, let path = head.path, fields[.transferEncoding] == nil, fields[.expect] == nil, fields[.upgrade] == nil
        else { return nil }
        // `Connection: close` (Hummingbird closes after the answer) and upgrades are the slow path's.
        if let connection = fields[.connection], connection.lowercased() != "keep-alive" { return nil }
        var length: Int?
        if let text = fields[.contentLength] {
            guard let value = Int(text), value >= 0 else { return nil }
            length = value
        }
        guard let admission = FastAdmission.of(gateway: gateway, method: head.method.rawValue, path: path, authority: head.authority,
                                               fields: fields, contentLength: length, ports: ports)
        else { return nil }
        let bytes = UpstreamRequestBytes(host: admission.address.authority, client: fields, provider: admission.serving.pool.provider)
        return FastTaken(method: head.method.rawValue, admission: admission, fields: bytes, length: length, body: ByteBuffer(), arrived: .now())
    }

    private func start(_ read: Reading, context: ChannelHandlerContext) {
        guard let upstream, let request = FastRequest(client: self, upstream: upstream, taken: read.taken) else {
            // The slow path answers (503 when the budget for bodies is spent).
            slowAnswersDue += 1
            forward(.head(read.head), context: context)
            if read.taken.body.readableBytes > 0 { forward(.body(read.taken.body), context: context) }
            forward(.end(nil), context: context)
            return
        }
        answering = request
        request.next()
    }

    /// Passes a request part on to Hummingbird.
    private func forward(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        holding.forward(part, context: context)
    }

    // MARK: FastClient

    var eventLoop: (any EventLoop)? { context?.eventLoop }
    var isWritable: Bool { context?.channel.isWritable ?? false }

    func streamHead(_ head: UpstreamAnswerReader.Head) {
        var fields = UpstreamRequest.responseFields(head.headers)
        if case .length(let length) = head.framing, head.status != 204, head.status != 304 { fields[.contentLength] = String(length) }
        fields[.date] = date.now()
        fields[.server] = GatewayResponder.serverName
        write(.head(HTTPResponse(status: HTTPResponse.Status(code: head.status), headerFields: fields)))
    }

    /// The body goes through Hummingbird's encoder, which frames it anew.
    func streamWire(_ bytes: ByteBuffer) {}

    func streamData(_ bytes: ByteBuffer) { write(.body(bytes)) }

    func streamEnd() { write(.end(nil)) }

    func writeWhole(_ head: HTTPResponse, body: ByteBuffer) {
        write(.head(head))
        if body.readableBytes > 0 { write(.body(body)) }
        write(.end(nil))
    }

    func flush() { context?.flush() }

    func closeConnection() { context?.close(promise: nil) }

    /// The fast answer ended (or the client left): what arrived meanwhile, then reading.
    func requestEnded() {
        answering = nil
        // A client that left gets nothing more.
        guard let context, context.channel.isActive else { return }
        holding.resume(context: context, busy: { answering != nil }) { handle($0, context: context) }
    }

    func dateField() -> String { date.now() }

    private func write(_ part: HTTPResponsePart) {
        context?.write(wrapOutboundOut(part), promise: nil)
    }
}

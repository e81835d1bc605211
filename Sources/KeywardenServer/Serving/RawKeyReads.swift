import NIOCore

/// The first handler of an agent connection: answers a repeated hot read
/// (``HotConnection/Decision/repeated(body:)``) straight from the bytes it
/// arrived in, and hands everything else, unchanged, to the HTTP decoder.
///
/// Measured on the 2-core machine (scripts/bench.sh agent), HTTP decoding,
/// the conversions to and from HTTPTypes and encoding cost two thirds of the
/// CPU a key read took even on the event loop (``HotKeyReads``): ~41 µs
/// against nginx's ~9 µs per request. Here a repeat costs a cache lookup, a
/// counter and one write of the cached head and the answer.
///
/// It answers only when nothing can go wrong with that: one whole, plain
/// request in the read (``RawKeyRequest``), the connection's peer already
/// known and the owner (or root), nothing unanswered before it, and the
/// HTTP decoder holding no part of a request (``HotConnection/acceptsRawAnswers(at:)``).
/// First serves, anything that waits, and every other request take the
/// decoder's path: ``HotKeyReads``, then Hummingbird's router.
final class RawKeyReads: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: HotConnection

    init(connection: HotConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let now = NIODeadline.now()
        if connection.acceptsRawAnswers(at: now), let peer = connection.peer, let (request, purpose) = RawKeyRequest.parse(bytes),
           case .repeated(let body) = connection.decide(request, purpose: purpose, peer: peer, now: now, allocator: context.channel.allocator) {
            connection.answered(.ok, started: now)
            context.write(wrapOutboundOut(connection.heads.bytes(status: .ok, contentLength: body.readableBytes)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(body), promise: nil)
            return
        }
        if connection.decoderHoldsNothing, !RawKeyRequest.isWholeRequests(bytes) { connection.decoderHoldsNothing = false }
        context.fireChannelRead(data)
    }
}

import NIOCore
import NIOHTTP1

/// An answer whose body goes out in chunked transfer encoding, one chunk per
/// write and flush, `delay` apart (the first with the head, at once): how
/// the mock streams SSE events so that a client sees them arrive over time.
struct MockChunkedAnswer: Sendable {
    var head: HTTPResponseHead
    var chunks: [ByteBuffer]
    var delay: TimeAmount
    /// Stops after this many chunks and never ends the body (a stream that stalls).
    var stallAfter: Int?
    /// Closes the connection after the last chunk (the client asked to).
    var close: Bool

    init(status: HTTPResponseStatus = .ok, headers: [(String, String)], chunks: [ByteBuffer], delay: TimeAmount,
         stallAfter: Int? = nil, keepAlive: Bool) {
        var fields = HTTPHeaders(headers)
        fields.remove(name: "content-length")
        fields.replaceOrAdd(name: "transfer-encoding", value: "chunked")
        if !keepAlive { fields.replaceOrAdd(name: "connection", value: "close") }
        self.head = HTTPResponseHead(version: .http1_1, status: status, headers: fields)
        self.chunks = chunks
        self.delay = delay
        self.stallAfter = stallAfter
        self.close = !keepAlive
    }

    /// Writes the head and the first chunk now, and schedules the rest.
    func start(context: ChannelHandlerContext) {
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        emit(0, NIOLoopBound(context, eventLoop: context.eventLoop))
    }

    private func emit(_ index: Int, _ bound: NIOLoopBound<ChannelHandlerContext>) {
        let context = bound.value
        // The client went away mid-stream: nothing more to send.
        guard context.channel.isActive else { return }
        if index < chunks.count {
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(chunks[index]))), promise: nil)
        }
        let sent = index + 1
        if let stallAfter, sent >= stallAfter {
            context.flush()
            return
        }
        guard sent >= chunks.count else {
            context.flush()
            context.eventLoop.scheduleTask(in: delay) { emit(sent, bound) }
            return
        }
        let written = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        if close { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}

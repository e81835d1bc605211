import NIOCore
import NIOEmbedded
import NIOHTTP1

/// One HTTP/1.1 request and its answer on a blocking ``UnixSocket``, encoded
/// and decoded by SwiftNIO's HTTP client codec (its request encoder and
/// response decoder) in an `EmbeddedChannel`: the codec of a NIO channel,
/// without its event loop.
/// A fresh channel per exchange: an `EmbeddedChannel` belongs to the thread
/// that made it, and an async command may resume on another thread between
/// two requests. The codec keeps no state between keep-alive exchanges.
public enum HTTPExchange {
    /// The status and the whole body of an answer.
    public struct Answer: Sendable {
        public var status: Int
        public var body: ByteBuffer
        /// False when the agent said it closes the connection after this answer.
        public var keepAlive = true
    }

    /// Why an exchange failed, and whether the request had left: a caller
    /// may say "nothing was done" only for `.notSent`.
    public enum Failure: Error {
        case notSent(any Error)
        case closedBeforeAnswer
        case unreadable(any Error)

        /// What the command line says (both programs: the launcher and keywarden-cli).
        public var message: String {
            switch self {
            case .notSent(let cause): "the request could not be sent to the agent: \(cause)"
            case .closedBeforeAnswer: "the agent closed the connection before answering"
            case .unreadable(let cause): "the agent's answer could not be read: \(cause)"
            }
        }

        /// An answer of `operation` that parses as none of its documented shapes.
        public static func unknownAnswer(to operation: String) -> String {
            "the agent sent an answer to \(operation) that this keywarden cannot read; is the agent a different version? Restart it with `keywarden serve`"
        }
    }

    /// Writes `head` (and `body`) and reads until the answer's end. The
    /// buffers the answer arrived in are zeroed once it is decoded; the
    /// answer's body is the caller's to wipe.
    public static func perform(_ head: HTTPRequestHead, body: ByteBuffer?, on socket: UnixSocket) throws(Failure) -> Answer {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let outgoing: [ByteBuffer]
        do {
            // The two handlers of `addHTTPClientHandlers`, without its outbound
            // header validator (each handler type's first use costs a scan of
            // the binary's protocol conformances; `AgentConnection.request`
            // refuses line breaks in the head instead) or upgrade support.
            try channel.pipeline.syncOperations.addHandlers([
                HTTPRequestEncoder(), ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)),
            ])
            try channel.writeOutbound(HTTPClientRequestPart.head(head))
            if let body { try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(body))) }
            try channel.writeOutbound(HTTPClientRequestPart.end(nil))
            // One write for head and body: sent apart, the agent wakes for the
            // head, and again for the body (a millisecond on every request).
            var request = ByteBuffer()
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) { request.writeBuffer(&buffer) }
            outgoing = [request]
        } catch {
            throw .notSent(error)
        }
        // The request may carry a value (import, config set): its copy is wiped once sent.
        defer { for buffer in outgoing { buffer.wipeReadableBytes() } }
        do {
            try socket.send(outgoing)
        } catch {
            throw .notSent(error)
        }

        var received: [ByteBuffer] = []
        defer { for buffer in received { buffer.wipeReadableBytes() } }
        var status = 0
        var keepAlive = true
        var answerBody = ByteBuffer()
        while true {
            var chunk = ByteBuffer()
            let open: Bool
            do {
                open = try socket.receive(into: &chunk)
            } catch {
                throw .closedBeforeAnswer
            }
            do {
                if open {
                    received.append(chunk)
                    try channel.writeInbound(chunk)
                } else {
                    // The end of the stream ends an answer without a length.
                    channel.pipeline.fireChannelInactive()
                    try channel.throwIfErrorCaught()
                }
                while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
                    switch part {
                    case .head(let responseHead):
                        status = Int(responseHead.status.code)
                        keepAlive = responseHead.isKeepAlive
                        // One allocation for the whole body: growing it would
                        // leave copies of its first part (a value) behind.
                        if let length = responseHead.headers.first(name: "content-length").flatMap(Int.init), length > 0 {
                            answerBody.reserveCapacity(min(length, 64 << 20))
                        }
                    case .body(var bytes):
                        answerBody.writeBuffer(&bytes)
                    case .end:
                        return Answer(status: status, body: answerBody, keepAlive: keepAlive)
                    }
                }
            } catch {
                answerBody.wipeReadableBytes()
                throw .unreadable(error)
            }
            guard open else {
                answerBody.wipeReadableBytes()
                throw .closedBeforeAnswer
            }
        }
    }
}

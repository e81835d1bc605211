import HTTPTypes
import KeywardenCore
import NIOCore

/// The first handler of a gateway connection: forwards a request straight
/// from the bytes it arrived in, and writes the provider's answer back as
/// bytes — a streamed body exactly as the provider framed it. Everything
/// else goes, unchanged, to the HTTP decoder and on to ``FastForwarding``
/// and Hummingbird.
///
/// Measured on the 2-core machine (scripts/bench.sh gateway), a request
/// forwarded after HTTP decoding spent most of its CPU outside forwarding:
/// two HTTP decodes and two encodes, the conversions to and from HTTPTypes,
/// Hummingbird's codec. Here a request costs a scan of its head
/// (``RawGatewayRequest``), the same admission as the decoded path
/// (``FastAdmission``), one write upstream and the answer's bytes passed on.
///
/// It takes a request only when the scan accepts it whole, the admission
/// does, nothing before it is unanswered (``FastForwarding/isIdle``), and a
/// request of this connection went through the decoder less than
/// ``decodeAtLeastEvery`` ago, so that Hummingbird's idle timer, which sees
/// only decoded requests, knows the connection is busy. Anything the scan
/// is unsure of sends the connection's bytes to the decoder for good; a
/// body too large to collect goes to the decoder as it arrives, and the
/// scan starts again after it.
///
/// While it answers, what arrives is kept (and reads stop once something
/// is kept) and the end of input waits. Hummingbird's handlers after it see
/// no request in progress: a graceful shutdown's close waits for the
/// answer's end and for its bytes to be written; the idle timer's close is
/// not passed on (an answer streaming for minutes is not idleness), and the
/// connection gets an idle timer of its own once the answer ends.
/// A request whose bytes keep arriving for ``decodeAtLeastEvery`` goes to
/// the decoder, so that the idle timer sees it being read.
final class RawForwarding: ChannelDuplexHandler, RemovableChannelHandler, FastClient {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// As ``HotConnection/decodeAtLeastEvery``: well within Hummingbird's idle timeout (60 s here).
    static let decodeAtLeastEvery = TimeAmount.seconds(10)

    /// The fields ``FastAdmission`` reads (the `Host` is passed on its own).
    private static let admissionFields = Set(([GatewayResponder.originField, Gateway.scopeField] + PresentedCredential.headerNames).map(\.canonicalName))

    let gateway: Gateway
    private let decoded: FastForwarding
    private var upstream: LoopUpstreamConnections?
    private var ports: (client: Int, server: Int)?
    private var context: ChannelHandlerContext?
    /// Bytes read and neither taken nor passed on yet.
    private var pending = ByteBuffer()
    private var answering: FastRequest?
    /// The scan was unsure once: every later byte goes to the decoder.
    private var decoderOnly = false
    /// Bytes of a body the decoder is reading that have not arrived yet.
    private var decoderOwed = 0
    private var lastDecoded = NIODeadline.uptimeNanoseconds(0)
    private var readHeld = false
    private var inputClosedHeld = false
    private var closeHeld: [(mode: CloseMode, promise: EventLoopPromise<Void>?)] = []
    /// The streamed answer broke off: the connection ends.
    private var closeAfterAnswer = false
    /// The provider's answer has no length: it is passed on chunked, so that
    /// the connection stays open and a break is seen as one.
    private var rechunking = false
    /// A graceful shutdown began: a close asked during an answer is its, not the idle timer's.
    private var quiescing = false
    /// Hummingbird's idle timer asked for a close during an answer.
    private var idleCloseDropped = false
    /// Reads so far, to tell whether the connection stayed idle.
    private var reads = 0
    /// A close is under way (``closeAfterWrites(context:)``): nothing more is taken.
    private var closing = false
    /// When the request at the start of `pending` began to arrive.
    private var pendingSince: NIODeadline?
    /// How long unwritten answer bytes may hold a close back.
    static let closeWaitsForWrites = TimeAmount.seconds(10)
    private var inRead = false
    private var passedOutsideRead = false
    private var date = DateField()

    init(gateway: Gateway, decoded: FastForwarding) {
        self.gateway = gateway
        self.decoded = decoded
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        upstream = gateway.clients.connections.onLoop(context.eventLoop)
        ports = context.channel.peerPorts
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        answering?.clientLeft()
        failHeldCloses()
        self.context = nil
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        reads &+= 1
        if decoderOwed > 0 {
            let owed = min(decoderOwed, bytes.readableBytes)
            decoderOwed -= owed
            context.fireChannelRead(wrapInboundOut(bytes.readSlice(length: owed)!))
            if bytes.readableBytes == 0 { return }
        }
        if decoderOnly {
            context.fireChannelRead(wrapInboundOut(bytes))
            return
        }
        if pending.readableBytes == 0 {
            pending = bytes
            pendingSince = .now()
        } else {
            pending.writeImmutableBuffer(bytes)
        }
        guard answering == nil else { return }
        inRead = true
        defer { inRead = false }
        process(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        passedOutsideRead = false
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        // A client that waits for its answer sends nothing meanwhile: reading on costs nothing (see HeldRequestParts).
        if answering != nil, pending.readableBytes > 0 {
            readHeld = true
            return
        }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { quiescing = true }
        if let event = event as? ChannelEvent, event == .inputClosed {
            if answering != nil {
                inputClosedHeld = true
                return
            }
            passPending(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        answering?.clientLeft()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        answering?.clientWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if answering != nil, mode == .all {
            if promise == nil, !quiescing {
                // Hummingbird's idle timer, which did not see this answer begin.
                idleCloseDropped = true
                return
            }
            closeHeld.append((mode, promise))
            return
        }
        context.close(mode: mode, promise: promise)
    }

    /// Takes or passes on the whole requests in `pending`, until one is answered here or the rest has not arrived.
    private func process(context: ChannelHandlerContext) {
        while answering == nil, closeHeld.isEmpty, !closing, pending.readableBytes > 0 {
            if decoderOnly {
                passPending(context: context)
                return
            }
            switch RawGatewayRequest.scan(pending, maxBody: ForwardedRequest.collectedBodyLimit) {
            case .incomplete:
                if let since = pendingSince, NIODeadline.now() - since >= Self.decodeAtLeastEvery { handOverSlowRequest(context: context) }
                return
            case .unsure:
                decoderOnly = true
            case .bodyTooLarge(let total):
                // The decoder reads it, streamed to the slow path; the scan starts again after it.
                lastDecoded = .now()
                let arrived = min(total, pending.readableBytes)
                decoderOwed = total - arrived
                pass(pending.readSlice(length: arrived)!, context: context)
                pendingSince = pending.readableBytes > 0 ? lastDecoded : nil
            case .request(let request):
                let whole = pending.readSlice(length: request.totalLength)!
                let now = NIODeadline.now()
                pendingSince = pending.readableBytes > 0 ? now : nil
                if now - lastDecoded < Self.decodeAtLeastEvery, decoded.isIdle, let upstream, let taken = take(request, whole, arrived: now),
                   let fast = FastRequest(client: self, upstream: upstream, taken: taken) {
                    answering = fast
                    fast.next()
                } else {
                    lastDecoded = now
                    pass(whole, context: context)
                }
            }
        }
        if pending.readableBytes == 0 { pending = ByteBuffer() }
    }

    /// A request still arriving after ``decodeAtLeastEvery``: the decoder
    /// reads it (its body as it comes, ``decoderOwed``), or, with its head
    /// not yet whole, the rest of the connection.
    private func handOverSlowRequest(context: ChannelHandlerContext) {
        lastDecoded = .now()
        pendingSince = nil
        if case .bodyTooLarge(let total) = RawGatewayRequest.scan(pending, maxBody: 0) {
            decoderOwed = total - pending.readableBytes
        } else {
            decoderOnly = true
        }
        passPending(context: context)
    }

    /// `request` as the fast path forwards it, if the admission takes it.
    private func take(_ request: RawGatewayRequest, _ bytes: ByteBuffer, arrived: NIODeadline) -> FastTaken? {
        var fields = HTTPFields()
        var host: String?
        for field in request.fields {
            if field.name == "host" {
                // Two `Host` fields: the decoder's reading decides.
                guard host == nil else { return nil }
                host = field.value
            } else if Self.admissionFields.contains(field.name), let name = HTTPField.Name(field.name) {
                fields.append(HTTPField(name: name, value: field.value))
            }
        }
        guard let admission = FastAdmission.of(gateway: gateway, method: request.method, path: request.target, authority: host,
                                               fields: fields, contentLength: request.contentLength, ports: ports)
        else { return nil }
        let body = bytes.getSlice(at: bytes.readerIndex + request.headLength, length: request.contentLength ?? 0)!
        let forwarded = UpstreamRequestBytes(host: admission.address.authority, client: request, bytes: bytes, provider: admission.serving.pool.provider)
        return FastTaken(method: request.method, admission: admission, fields: forwarded, length: request.contentLength, body: body, arrived: arrived)
    }

    /// Hands bytes to the HTTP decoder.
    private func pass(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        if !inRead { passedOutsideRead = true }
        context.fireChannelRead(wrapInboundOut(bytes))
    }

    private func passPending(context: ChannelHandlerContext) {
        guard pending.readableBytes > 0 else { return }
        pass(pending, context: context)
        pending = ByteBuffer()
    }

    // MARK: FastClient

    var eventLoop: (any EventLoop)? { context?.eventLoop }
    var isWritable: Bool { context?.channel.isWritable ?? false }

    /// The provider's head, as Hummingbird would pass it on (without the
    /// fields of its hop, with the gateway's `Date` and `Server`), framed as
    /// the provider framed the body, which follows unchanged.
    func streamHead(_ head: UpstreamAnswerReader.Head) {
        var bytes = ByteBuffer()
        bytes.reserveCapacity(512)
        bytes.writeStatusLine(head.status)
        for (name, value) in head.headers {
            // Most providers send lowercase names: no new String for those.
            let lowercased = name.utf8.contains { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) } ? name.lowercased() : name
            if UpstreamRequest.droppedResponseHeaders.contains(lowercased) || lowercased == "date" || lowercased == "server" { continue }
            bytes.writeString(name)
            bytes.writeStaticString(": ")
            bytes.writeString(value)
            bytes.writeStaticString("\r\n")
        }
        switch head.framing {
        case .length where head.status == 204 || head.status == 304:
            break
        case .length(let length):
            bytes.writeStaticString("Content-Length: ")
            bytes.writeString(String(length))
            bytes.writeStaticString("\r\n")
        case .chunked:
            bytes.writeStaticString("Transfer-Encoding: chunked\r\n")
        case .untilClose:
            bytes.writeStaticString("Transfer-Encoding: chunked\r\n")
            rechunking = true
        }
        bytes.writeStaticString("Date: ")
        bytes.writeString(date.now())
        bytes.writeStaticString("\r\nServer: ")
        bytes.writeString(GatewayResponder.serverName)
        bytes.writeStaticString("\r\n\r\n")
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    func streamWire(_ bytes: ByteBuffer) {
        guard let context else { return }
        if rechunking {
            context.write(wrapOutboundOut(ByteBuffer(string: String(bytes.readableBytes, radix: 16) + "\r\n")), promise: nil)
            context.write(wrapOutboundOut(bytes), promise: nil)
            context.write(wrapOutboundOut(ByteBuffer(staticString: "\r\n")), promise: nil)
        } else {
            context.write(wrapOutboundOut(bytes), promise: nil)
        }
    }

    /// The wire bytes carry the body already.
    func streamData(_ bytes: ByteBuffer) {}

    /// The last chunk (or the last byte of the length) was in the wire bytes,
    /// unless the answer is passed on chunked here.
    func streamEnd() {
        if rechunking { context?.write(wrapOutboundOut(ByteBuffer(staticString: "0\r\n\r\n")), promise: nil) }
    }

    func writeWhole(_ head: HTTPResponse, body: ByteBuffer) {
        var bytes = ByteBuffer()
        bytes.reserveCapacity(256 + body.readableBytes)
        bytes.writeHead(head)
        bytes.writeImmutableBuffer(body)
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    func flush() { context?.flush() }

    func closeConnection() {
        closeAfterAnswer = true
    }

    /// The answer ended (or the client left): a close that waited, else the requests that arrived meanwhile, then reading.
    func requestEnded() {
        answering = nil
        rechunking = false
        guard let context, context.channel.isActive else {
            failHeldCloses()
            return
        }
        if closeAfterAnswer || !closeHeld.isEmpty {
            closeAfterWrites(context: context)
            return
        }
        if idleCloseDropped { startOwnIdleTimer(context: context) }
        process(context: context)
        if passedOutsideRead {
            passedOutsideRead = false
            context.fireChannelReadComplete()
        }
        guard answering == nil else { return }
        if inputClosedHeld {
            inputClosedHeld = false
            passPending(context: context)
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        if readHeld {
            readHeld = false
            context.read()
        }
    }

    func dateField() -> String { date.now() }

    /// Closes once what was written has gone out: a close drops unwritten
    /// bytes, which would cut the answer just finished. A client that reads
    /// nothing holds it back at most ``closeWaitsForWrites``.
    private func closeAfterWrites(context: ChannelHandlerContext) {
        let held = closeHeld
        closeHeld = []
        closing = true
        var closed = false
        let close = { () -> Void in
            guard !closed else { return }
            closed = true
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.close(promise: promise)
            for waiting in held { promise.futureResult.cascade(to: waiting.promise) }
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in close() }
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeWaitsForWrites) { close() }
    }

    /// After an answer that outlasted Hummingbird's idle timer, which is not
    /// armed again until a decoded request is answered: the next request goes
    /// through the decoder, and a connection that stays idle is closed here.
    private func startOwnIdleTimer(context: ChannelHandlerContext) {
        idleCloseDropped = false
        lastDecoded = .uptimeNanoseconds(0)
        let readsBefore = reads
        context.eventLoop.assumeIsolated().scheduleTask(in: gateway.settings.connectionIdleTimeout) { [weak self] () -> Void in
            guard let self, let context = self.context, context.channel.isActive, self.reads == readsBefore,
                  self.answering == nil, self.pending.readableBytes == 0, !self.closing
            else { return }
            self.closeAfterWrites(context: context)
        }
    }

    /// The connection is gone: the closes that waited have nothing to do.
    private func failHeldCloses() {
        let held = closeHeld
        closeHeld = []
        for waiting in held { waiting.promise?.fail(ChannelError.alreadyClosed) }
    }
}

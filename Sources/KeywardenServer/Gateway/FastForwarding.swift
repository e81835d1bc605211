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

/// The gateway's fast path on its loopback TCP listener: forwards a request
/// it can serve completely on the connection's event loop — through the
/// gateway's own upstream connections (``UpstreamConnections``) — and hands
/// every other request to Hummingbird's ``GatewayResponder`` unchanged.
///
/// Through Hummingbird and AsyncHTTPClient each request crossed between the
/// event loop and the concurrency pool several times (Hummingbird's task,
/// AHC's transaction and body streams): ~410 µs of CPU per request, 10% of
/// the mock's direct throughput (scripts/bench.sh gateway). Here a request is
/// parsed, checked, written upstream and its answer written back on one
/// event loop.
///
/// It takes a request only when nothing needs waiting for: the head passes
/// ``GatewayResponder/admit(path:query:authority:headers:)``, the token's
/// check is held (``GatewayTokens/cachedCheck(_:)``: run tokens, or a vault
/// token checked before), the scope is granted, the pool is held
/// (``Gateway/heldPool(provider:scope:)``), the upstream is plain `http`,
/// and the body has a `Content-Length` up to
/// ``ForwardedRequest/collectedBodyLimit`` (or there is none). A miss of any
/// of these goes to the slow path, which answers (and audits) refusals and
/// fills the caches. Once taken, the attempts follow the same decisions as
/// the slow path's (``AttemptPlan``).
///
/// It sits after Hummingbird's connection state handler (idle timeout,
/// graceful shutdown), which sees every request and answer. HTTP/1.1 answers
/// go out in request order: while Hummingbird owes an answer every request
/// goes to Hummingbird, and while this handler answers it holds later
/// requests and reads (as ``HotKeyReads`` does).
final class FastForwarding: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A request taken, read to its end before the first attempt.
    struct Taken {
        var head: HTTPRequest
        var serving: ServingPool
        var caller: GatewayCaller
        var address: UpstreamAddress
        var remainder: String
        var length: Int?
        var body = ByteBuffer()
        var arrived: NIODeadline
    }

    let gateway: Gateway
    private var upstream: LoopUpstreamConnections?
    private var ports: (client: Int, server: Int)?
    fileprivate var context: ChannelHandlerContext?
    /// Requests handed to Hummingbird whose answer has not ended yet.
    private var slowAnswersDue = 0
    private var reading: Taken?
    /// The request being answered here: later requests and reads wait.
    private var answering: FastRequest?
    private let holding = HeldRequestParts()
    private var date: (second: time_t, text: String) = (-1, "")

    init(gateway: Gateway) {
        self.gateway = gateway
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        upstream = gateway.clients.connections.onLoop(context.eventLoop)
        if let client = context.channel.remoteAddress?.port, let server = context.channel.localAddress?.port { ports = (client, server) }
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
                reading = taken
            } else {
                slowAnswersDue += 1
                forward(part, context: context)
            }
        case .body(let buffer):
            if reading != nil {
                if reading!.body.readableBytes == 0 { reading!.body = buffer } else { reading!.body.writeImmutableBuffer(buffer) }
            } else {
                forward(part, context: context)
            }
        case .end:
            if let taken = reading {
                reading = nil
                start(taken, context: context)
            } else {
                forward(part, context: context)
            }
        }
    }

    /// The request `head` starts, if the fast path can serve it whole.
    private func take(_ head: HTTPRequest) -> Taken? {
        let fields = head.headerFields
        guard upstream != nil, head.method != .head, head.method != .connect, let path = head.path,
              fields[.transferEncoding] == nil, fields[.expect] == nil, fields[.upgrade] == nil
        else { return nil }
        // `Connection: close` (Hummingbird closes after the answer) and upgrades are the slow path's.
        if let connection = fields[.connection], connection.lowercased() != "keep-alive" { return nil }
        var length: Int?
        if let text = fields[.contentLength] {
            guard let value = Int(text), value >= 0, value <= ForwardedRequest.collectedBodyLimit, value <= gateway.settings.maxBody else { return nil }
            length = value
        }
        let uri = URI(path)
        guard let admission = try? GatewayResponder.admit(path: uri.path, query: uri.query, authority: head.authority, headers: fields),
              let token = gateway.tokens.cachedCheck(admission.credential)
        else { return nil }
        let caller = GatewayCaller.tcp(token: token, ports: ports)
        guard let scope = try? gateway.scope(of: fields, caller: caller), token.allows(provider: admission.provider, scope: scope),
              let serving = gateway.heldPool(provider: admission.provider, scope: scope),
              case .success(let base) = serving.base, base.scheme == "http"
        else { return nil }
        let query = admission.credential.inQuery ? UpstreamRequest.queryWithoutKey(uri.query) : uri.query
        guard let target = try? UpstreamRequest.url(base: base, remainder: admission.remainder, query: query),
              let address = UpstreamAddress(url: target.url)
        else { return nil }
        return Taken(head: head, serving: serving, caller: caller, address: address, remainder: admission.remainder, length: length, arrived: .now())
    }

    private func start(_ taken: Taken, context: ChannelHandlerContext) {
        // The body is kept for a resend, within the gateway's budget for bodies.
        guard let upstream, let body = ReplayableBody(complete: taken.body, budget: gateway.bodies) else {
            // The slow path answers (503 when the budget is spent).
            slowAnswersDue += 1
            forward(.head(taken.head), context: context)
            if taken.body.readableBytes > 0 { forward(.body(taken.body), context: context) }
            forward(.end(nil), context: context)
            return
        }
        let request = FastRequest(connection: self, upstream: upstream, taken: taken, body: body)
        answering = request
        request.next()
    }

    /// Passes a request part on to Hummingbird.
    private func forward(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        holding.forward(part, context: context)
    }

    /// The fast answer ended (or the client left): what arrived meanwhile, then reading.
    fileprivate func answered() {
        answering = nil
        // A client that left gets nothing more.
        guard let context, context.channel.isActive else { return }
        holding.resume(context: context, busy: { answering != nil }) { handle($0, context: context) }
    }

    /// The `Date` field, as Hummingbird writes it, made once a second.
    fileprivate var dateField: String {
        let now = time(nil)
        if now != date.second { date = (now, AnswerHeads.httpDate(now)) }
        return date.text
    }

    fileprivate func write(_ part: HTTPResponsePart) {
        context?.write(wrapOutboundOut(part), promise: nil)
    }

    fileprivate func flush() { context?.flush() }
}

/// One request on the fast path: its attempts on the pool's keys (decided
/// by ``AttemptPlan``, as on the slow path), and the answer written to the
/// client — streamed part by part for a 2xx, whole otherwise.
private final class FastRequest: UpstreamExchangeDelegate {
    private enum Phase {
        /// Waiting for an attempt's head (or a retry's backoff).
        case attempting
        /// Reading an error answer to classify it.
        case collecting(head: HTTPResponseHead, body: ByteBuffer)
        /// Passing a 2xx answer on.
        case streaming
        case done
    }

    private unowned let connection: FastForwarding
    private let upstream: LoopUpstreamConnections
    private let taken: Taken
    /// Held for the request's life: its bytes count against the gateway's budget for bodies.
    private let body: ReplayableBody
    private let bodyBytes: ByteBuffer?
    private var plan: AttemptPlan
    private var phase = Phase.attempting
    private var exchange: UpstreamExchange?
    private var attempt: (index: Int, ticket: InFlight, started: NIODeadline)?
    private var last: (head: HTTPResponse, body: ByteBuffer, runtime: KeyRuntime, outcome: GatewayOutcome)?
    private var backoff: Scheduled<Void>?

    typealias Taken = FastForwarding.Taken

    init(connection: FastForwarding, upstream: LoopUpstreamConnections, taken: Taken, body: ReplayableBody) {
        self.connection = connection
        self.upstream = upstream
        self.taken = taken
        self.body = body
        // As the slow path: a body (possibly empty) for any method but GET and HEAD, or when the client sent one.
        bodyBytes = taken.head.method != .get || taken.length != nil ? taken.body : nil
        plan = AttemptPlan(gateway: connection.gateway, serving: taken.serving, caller: taken.caller, method: taken.head.method.rawValue,
                           remainder: taken.remainder, arrived: taken.arrived)
    }

    private var gateway: Gateway { connection.gateway }
    private var serving: ServingPool { taken.serving }
    private var provider: ProviderDefinition { serving.pool.provider }

    /// The next attempt, or the last answer when none is left.
    func next() {
        guard case .attempting = phase else { return }
        guard let index = plan.nextMember() else {
            giveUp()
            return
        }
        let member = serving.pool.members[index]
        let runtime = serving.runtimes[index]
        runtime.begin()
        attempt = (index, InFlight(runtime), .now())
        // The key enters the outgoing head here, per attempt, and leaves with it.
        var headers = UpstreamRequest.headers(from: taken.head.headerFields, provider: provider, key: member.value)
        headers.add(name: "host", value: taken.address.authority)
        if let bodyBytes { headers.add(name: "content-length", value: String(bodyBytes.readableBytes)) }
        let uri = UpstreamRequest.appendingQueryKey(taken.address.pathAndQuery, provider: provider, key: member.value)
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: taken.head.method.rawValue), uri: uri, headers: headers)
        exchange = upstream.exchange(to: taken.address, head: head, body: bodyBytes, delegate: self)
    }

    func upstreamHead(_ head: HTTPResponseHead) {
        guard case .attempting = phase, let attempt else { return }
        let runtime = serving.runtimes[attempt.index]
        let status = Int(head.status.code)
        switch plan.received(status: status, headers: head.headers, seconds: seconds(since: attempt.started), runtime: runtime) {
        case .success:
            phase = .streaming
            var fields = UpstreamRequest.responseFields(head.headers)
            if let length = head.headers.first(name: "content-length") { fields[.contentLength] = length }
            connection.write(.head(answerHead(status: status, fields: fields)))
            gateway.metrics.headWritten(provider: provider.name, scope: serving.pool.poolScope, seconds: seconds(since: taken.arrived))
        case .redirect(let refusal):
            exchange?.cancel()
            end(attempt, counting: .unexpected)
            answer(refusal)
        case .classify:
            phase = .collecting(head: head, body: ByteBuffer())
        }
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        switch phase {
        case .streaming:
            connection.write(.body(buffer))
            if connection.context?.channel.isWritable == false { exchange?.pauseReading() }
        case .collecting(let head, var collected):
            phase = .attempting
            guard collected.readableBytes + buffer.readableBytes <= ForwardedRequest.errorBodyLimit else {
                unreadable(head)
                return
            }
            collected.writeImmutableBuffer(buffer)
            phase = .collecting(head: head, body: collected)
        default:
            break
        }
    }

    func upstreamReadComplete() {
        if case .streaming = phase { connection.flush() }
    }

    func upstreamEnd() {
        guard let attempt else { return }
        let runtime = serving.runtimes[attempt.index]
        switch phase {
        case .streaming:
            end(attempt, counting: .ok)
            connection.write(.end(nil))
            connection.flush()
            finish()
        case .collecting(let head, let collected):
            phase = .attempting
            attempt.ticket.end()
            self.attempt = nil
            let status = Int(head.status.code)
            let headers = head.headers.map { ($0.name, $0.value) }
            let (outcome, next) = plan.afterAnswer(status: status, headers: headers, body: Array(collected.readableBytesView),
                                                   seconds: seconds(since: attempt.started), index: attempt.index)
            var fields = UpstreamRequest.responseFields(head.headers)
            fields[.contentLength] = String(collected.readableBytes)
            last = (answerHead(status: status, fields: fields), collected, runtime, outcome)
            proceed(next)
        default:
            break
        }
    }

    func upstreamFailed(_ error: any Error, answered: Bool) {
        guard let attempt else { return }
        let runtime = serving.runtimes[attempt.index]
        switch phase {
        case .streaming:
            // The head is out: nothing is retried; the client's connection ends.
            end(attempt, counting: .streamError)
            finish()
            connection.context?.close(promise: nil)
        case .collecting(let head, _):
            phase = .attempting
            unreadable(head)
        case .attempting:
            attempt.ticket.end()
            self.attempt = nil
            let failure = UpstreamFailure.classify(error, host: taken.address.host)
            var fields = failure.headerFields
            let body = failure.body
            fields[.contentLength] = String(body.readableBytes)
            last = (answerHead(status: Int(failure.status.code), fields: fields), body, runtime, failure.outcome)
            proceed(plan.afterFailure(failure, runtime: runtime))
        case .done:
            break
        }
    }

    /// The client's connection closed: the upstream exchange closes with it
    /// (its connection is never reused), and the request counts as cancelled.
    func clientLeft() {
        if case .done = phase { return }
        exchange?.cancel()
        backoff?.cancel()
        if let attempt { end(attempt, counting: .cancelled) }
        finish()
    }

    func clientWritabilityChanged(_ writable: Bool) {
        guard case .streaming = phase else { return }
        if writable { exchange?.resumeReading() } else { exchange?.pauseReading() }
    }

    private func proceed(_ next: AttemptPlan.Next) {
        switch next {
        case .tryNext:
            self.next()
        case .retry(let wait):
            backoff = connection.context?.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(wait * 1e9))) { [weak self] () -> Void in
                self?.next()
            }
        case .giveUp:
            giveUp()
        }
    }

    private func giveUp() {
        guard let last else {
            answer(plan.noKeyCanServe())
            return
        }
        plan.count(last.outcome, runtime: last.runtime)
        write(last.head, last.body)
    }

    /// An error answer too big to be an error document, or broken: passed on by status alone.
    private func unreadable(_ head: HTTPResponseHead) {
        guard let attempt else { return }
        exchange?.cancel()
        let refusal = plan.unreadableBody(status: Int(head.status.code), seconds: seconds(since: attempt.started), runtime: serving.runtimes[attempt.index])
        end(attempt, counting: .unexpected)
        answer(refusal)
    }

    /// Ends `attempt`'s time in flight and counts the request by `outcome`.
    private func end(_ attempt: (index: Int, ticket: InFlight, started: NIODeadline), counting outcome: GatewayOutcome) {
        attempt.ticket.end()
        self.attempt = nil
        plan.count(outcome, runtime: serving.runtimes[attempt.index])
    }

    /// The gateway's own answer.
    private func answer(_ refusal: GatewayRefusal) {
        var fields = refusal.headerFields
        let body = refusal.body
        fields[.contentLength] = String(body.readableBytes)
        write(answerHead(status: Int(refusal.status.code), fields: fields), body)
    }

    private func write(_ head: HTTPResponse, _ body: ByteBuffer) {
        connection.write(.head(head))
        if body.readableBytes > 0 { connection.write(.body(body)) }
        connection.write(.end(nil))
        connection.flush()
        finish()
    }

    /// The head as Hummingbird writes it: with `Date` and `Server`.
    private func answerHead(status: Int, fields: HTTPFields) -> HTTPResponse {
        var fields = fields
        fields[.date] = connection.dateField
        fields[.server] = GatewayResponder.serverName
        return HTTPResponse(status: HTTPResponse.Status(code: status), headerFields: fields)
    }

    private func finish() {
        if case .done = phase { return }
        phase = .done
        exchange = nil
        backoff = nil
        connection.answered()
    }

    private func seconds(since start: NIODeadline) -> Double {
        Double((NIODeadline.now() - start).nanoseconds) / 1e9
    }
}

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

/// What the fast path takes a request on: everything it needs is held, so
/// nothing waits. Both fast handlers decide with it — ``RawForwarding``
/// (before HTTP decoding) and ``FastForwarding`` (after it) — so they take
/// exactly the same requests; a nil sends the request to the slow path,
/// which answers (and audits) refusals and fills the caches.
struct FastAdmission {
    /// The methods of the providers' APIs, the only ones the fast path takes
    /// (and the only ones ``RawGatewayRequest`` reads from the bytes).
    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    var serving: ServingPool
    var caller: GatewayCaller
    var address: UpstreamAddress
    var remainder: String

    /// `fields` need to hold only the fields the admission reads: `origin`,
    /// the credential fields and `x-keywarden-scope` (``RawForwarding``
    /// passes just those); `authority` is the `Host`.
    static func of(gateway: Gateway, method: String, path: String, authority: String?, fields: HTTPFields,
                   contentLength: Int?, ports: (client: Int, server: Int)?) -> FastAdmission? {
        // The methods of the providers' APIs; the rest (HEAD, which has no body to read; TRACE
        // and CONNECT, which the slow path refuses) are the slow path's.
        guard Self.methods.contains(method) else { return nil }
        if let contentLength, contentLength > ForwardedRequest.collectedBodyLimit || contentLength > gateway.settings.maxBody { return nil }
        let uri = URI(path)
        // One look at the vault's state (an `fstat` of its WAL) for both caches.
        let generation = gateway.state.cache.generation()
        guard let admission = try? GatewayResponder.admit(path: uri.path, query: uri.query, authority: authority, headers: fields),
              let token = gateway.tokens.cachedCheck(admission.credential, generation: generation)
        else { return nil }
        let caller = GatewayCaller.tcp(token: token, ports: ports)
        guard let scope = try? gateway.scope(of: fields, caller: caller), token.allows(provider: admission.provider, scope: scope),
              let serving = gateway.heldPool(provider: admission.provider, scope: scope, generation: generation),
              case .success(let base) = serving.base, let plain = base.plainAddress
        else { return nil }
        let query = admission.credential.inQuery ? UpstreamRequest.queryWithoutKey(uri.query) : uri.query
        guard let target = try? UpstreamRequest.url(base: base, remainder: admission.remainder, query: query) else { return nil }
        let address = plain.target(of: target.url, baseText: base.text)
        return FastAdmission(serving: serving, caller: caller, address: address, remainder: admission.remainder)
    }
}

/// A request the fast path took, read to its end.
struct FastTaken {
    var method: String
    var admission: FastAdmission
    var fields: UpstreamRequestBytes
    /// The client's `Content-Length`, if it sent one.
    var length: Int?
    var body: ByteBuffer
    var arrived: NIODeadline
}

/// The client side of a fast request: where and how its answer is written.
/// ``FastForwarding`` writes decoded parts through Hummingbird's encoder;
/// ``RawForwarding`` writes bytes straight to the socket, and a streamed
/// body as the provider framed it.
protocol FastClient: AnyObject {
    var gateway: Gateway { get }
    var eventLoop: (any EventLoop)? { get }
    var isWritable: Bool { get }
    /// A 2xx answer's head, before its body is streamed.
    func streamHead(_ head: UpstreamAnswerReader.Head)
    /// The body of a streamed answer as it arrived, framing included.
    func streamWire(_ bytes: ByteBuffer)
    /// The body of a streamed answer, without framing.
    func streamData(_ bytes: ByteBuffer)
    func streamEnd()
    /// A whole answer: the gateway's own, or a provider's error answer that was read to classify it.
    func writeWhole(_ head: HTTPResponse, body: ByteBuffer)
    func flush()
    /// The connection ends (at the latest when the request ends, right after): a streamed answer broke off after its head.
    func closeConnection()
    /// The request is over (answered, or the client left).
    func requestEnded()
    /// The `Date` field's value now (``DateField``).
    func dateField() -> String
}

/// The `Date` field, as Hummingbird writes it, made once a second.
struct DateField {
    private var date: (second: time_t, text: String) = (-1, "")

    mutating func now() -> String {
        let now = time(nil)
        if now != date.second { date = (now, AnswerHeads.httpDate(now)) }
        return date.text
    }
}

/// One request on the fast path: its attempts on the pool's keys (decided
/// by ``AttemptPlan``, as on the slow path), and the answer written to the
/// client — streamed as it comes for a 2xx, whole otherwise.
final class FastRequest: UpstreamExchangeDelegate {
    private enum Phase {
        /// Waiting for an attempt's head (or a retry's backoff).
        case attempting
        /// Reading an error answer to classify it.
        case collecting(head: UpstreamAnswerReader.Head, body: ByteBuffer)
        /// Passing a 2xx answer on.
        case streaming
        case done
    }

    private unowned let client: any FastClient
    private let upstream: LoopUpstreamConnections
    private let taken: FastTaken
    /// Holds the body's bytes against the gateway's budget for bodies for the request's life.
    private let body: ReplayableBody
    private let bodyBytes: ByteBuffer?
    private var plan: AttemptPlan
    private var phase = Phase.attempting
    private var exchange: UpstreamExchange?
    private var attempt: (index: Int, ticket: InFlight, started: NIODeadline)?
    private var last: (head: HTTPResponse, body: ByteBuffer, runtime: KeyRuntime, outcome: GatewayOutcome)?
    private var backoff: Scheduled<Void>?

    /// nil when the gateway's budget for bodies is spent (the slow path answers 503).
    init?(client: any FastClient, upstream: LoopUpstreamConnections, taken: FastTaken) {
        guard let body = ReplayableBody(complete: taken.body, budget: client.gateway.bodies) else { return nil }
        self.client = client
        self.upstream = upstream
        self.taken = taken
        self.body = body
        // As the slow path: a body (possibly empty) for any method but GET and HEAD, or when the client sent one.
        bodyBytes = taken.method != "GET" || taken.length != nil ? taken.body : nil
        plan = AttemptPlan(gateway: client.gateway, serving: taken.admission.serving, caller: taken.admission.caller, method: taken.method,
                           remainder: taken.admission.remainder, arrived: taken.arrived)
    }

    private var gateway: Gateway { client.gateway }
    private var serving: ServingPool { taken.admission.serving }
    private var provider: ProviderDefinition { serving.pool.provider }
    private var address: UpstreamAddress { taken.admission.address }

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
        // The key enters the outgoing bytes here, per attempt; the exchange wipes them when it ends.
        guard let request = taken.fields.attempt(method: taken.method, target: address.pathAndQuery, provider: provider, key: member.value, body: bodyBytes)
        else {
            end(attempt!, counting: .unexpected)
            answer(GatewayRefusal(status: .badGateway, kind: "unexpected",
                                  "key \(member.key.id) has a character a request cannot carry (a space or a control character); replace it with `keywarden key add`",
                                  final: true, outcome: .unexpected))
            return
        }
        exchange = upstream.exchange(to: address, request: request, delegate: self)
    }

    func upstreamHead(_ head: UpstreamAnswerReader.Head) {
        guard case .attempting = phase, let attempt else { return }
        let runtime = serving.runtimes[attempt.index]
        switch plan.received(status: head.status, headers: head.headers, seconds: seconds(since: attempt.started), runtime: runtime) {
        case .success:
            phase = .streaming
            client.streamHead(head)
            gateway.metrics.headWritten(provider: provider.name, scope: serving.pool.poolScope, seconds: seconds(since: taken.arrived))
        case .redirect(let refusal):
            exchange?.cancel()
            end(attempt, counting: .unexpected)
            answer(refusal)
        case .classify:
            phase = .collecting(head: head, body: ByteBuffer())
        }
    }

    func upstreamWire(_ bytes: ByteBuffer) {
        guard case .streaming = phase else { return }
        client.streamWire(bytes)
        if !client.isWritable { exchange?.pauseReading() }
    }

    func upstreamData(_ bytes: ByteBuffer) {
        switch phase {
        case .streaming:
            client.streamData(bytes)
            if !client.isWritable { exchange?.pauseReading() }
        case .collecting(let head, var collected):
            phase = .attempting
            guard collected.readableBytes + bytes.readableBytes <= ForwardedRequest.errorBodyLimit else {
                unreadable(head)
                return
            }
            collected.writeImmutableBuffer(bytes)
            phase = .collecting(head: head, body: collected)
        default:
            break
        }
    }

    func upstreamReadComplete() {
        if case .streaming = phase { client.flush() }
    }

    func upstreamEnd() {
        guard let attempt else { return }
        let runtime = serving.runtimes[attempt.index]
        switch phase {
        case .streaming:
            end(attempt, counting: .ok)
            client.streamEnd()
            client.flush()
            finish()
        case .collecting(let head, let collected):
            phase = .attempting
            attempt.ticket.end()
            self.attempt = nil
            let headers = head.headers.map { ($0.name, $0.value) }
            let (outcome, next) = plan.afterAnswer(status: head.status, headers: headers, body: Array(collected.readableBytesView),
                                                   seconds: seconds(since: attempt.started), index: attempt.index)
            var fields = UpstreamRequest.responseFields(head.headers)
            fields[.contentLength] = String(collected.readableBytes)
            last = (answerHead(status: head.status, fields: fields), collected, runtime, outcome)
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
            client.closeConnection()
            finish()
        case .collecting(let head, _):
            phase = .attempting
            unreadable(head)
        case .attempting:
            attempt.ticket.end()
            self.attempt = nil
            let failure = UpstreamFailure.classify(error, host: address.host)
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
            backoff = client.eventLoop?.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(wait * 1e9))) { [weak self] () -> Void in
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
    private func unreadable(_ head: UpstreamAnswerReader.Head) {
        guard let attempt else { return }
        exchange?.cancel()
        let refusal = plan.unreadableBody(status: head.status, seconds: seconds(since: attempt.started), runtime: serving.runtimes[attempt.index])
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
        client.writeWhole(head, body: body)
        client.flush()
        finish()
    }

    /// The head as Hummingbird writes it: with `Date` and `Server`.
    private func answerHead(status: Int, fields: HTTPFields) -> HTTPResponse {
        var fields = fields
        fields[.date] = client.dateField()
        fields[.server] = GatewayResponder.serverName
        return HTTPResponse(status: HTTPResponse.Status(code: status), headerFields: fields)
    }

    private func finish() {
        if case .done = phase { return }
        phase = .done
        exchange = nil
        backoff = nil
        client.requestEnded()
    }

    private func seconds(since start: NIODeadline) -> Double {
        Double((NIODeadline.now() - start).nanoseconds) / 1e9
    }
}

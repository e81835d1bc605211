import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// One client request on its way through the gateway: the attempts on the
/// pool's keys, and the answer. Every retry and resend happens before
/// `run` returns its `Response` — the moment the answer's head is
/// committed — so no byte the client has seen is ever sent twice, and no
/// body is changed.
struct ForwardedRequest {
    let gateway: Gateway
    let request: Request
    let serving: ServingPool
    let caller: GatewayCaller
    let arrived: NIODeadline
    let target: (url: String, scheme: String, host: String)
    let body: ReplayableBody
    let method: HTTPMethod
    /// The path after `/{provider}`, for audit details.
    let remainder: String

    /// The provider's answer bodies the gateway reads to classify an error (they are small JSON).
    static let errorBodyLimit = 64 * 1024
    /// Request bodies up to this size are read whole before the first attempt.
    static let collectedBodyLimit = 256 * 1024
    static let maxAttempts = 5

    init(gateway: Gateway, request: Request, serving: ServingPool, remainder: String, caller: GatewayCaller, tokenInQuery: Bool,
         arrived: NIODeadline) async throws {
        self.gateway = gateway
        self.request = request
        self.serving = serving
        self.caller = caller
        self.arrived = arrived
        method = HTTPMethod(rawValue: request.method.rawValue)
        self.remainder = remainder
        let query = tokenInQuery ? UpstreamRequest.queryWithoutKey(request.uri.query) : request.uri.query
        target = try UpstreamRequest.url(base: serving.base.get(), remainder: remainder, query: query)
        let length = request.headers[.contentLength].flatMap { Int($0) }
        if let length, length > gateway.settings.maxBody {
            throw GatewayRefusal(status: .contentTooLarge, kind: "invalidInput", "the request body is larger than the gateway's limit of \(gateway.settings.maxBody) bytes")
        }
        let overloaded = GatewayRefusal(status: .serviceUnavailable, kind: "unavailable", "the gateway holds as many request bodies as it may right now; retry shortly")
        if let length, length <= Self.collectedBodyLimit {
            var request = request
            let collected = try await request.collectBody(upTo: Self.collectedBodyLimit)
            guard let complete = ReplayableBody(complete: collected, budget: gateway.bodies) else { throw overloaded }
            body = complete
        } else if length == nil, request.headers[.transferEncoding] == nil {
            body = ReplayableBody(complete: ByteBuffer(), budget: gateway.bodies)!
        } else {
            body = ReplayableBody(streaming: request.body, length: length, limit: gateway.settings.maxBody, budget: gateway.bodies)
        }
    }

    private var provider: ProviderDefinition { serving.pool.provider }

    func run() async -> Response {
        let response = await attempts()
        await body.finishReading()
        return response
    }

    private func attempts() async -> Response {
        var excluded = Set<Int>()
        var transientRetries = 0
        var resentAfterRefusal = false
        var attempts = 0
        let budgetEnd = arrived + gateway.settings.retryBudget
        var last: Response?
        var lastRuntime: KeyRuntime?
        var lastOutcome = GatewayOutcome.unexpected
        while attempts < Self.maxAttempts {
            let now = NIODeadline.now()
            guard let index = serving.pick(excluding: excluded, now: now) else { break }
            let member = serving.pool.members[index]
            let runtime = serving.runtimes[index]
            attempts += 1
            runtime.begin()
            let ticket = InFlight(runtime)
            let started = NIODeadline.now()
            let answer: HTTPClientResponse
            do {
                answer = try await send(member)
            } catch {
                ticket.end()
                // The client's own body failed: not the key's doing, and nothing to retry.
                switch body.failure {
                case .tooLarge:
                    return finish(GatewayRefusal(status: .contentTooLarge, kind: "invalidInput", "the request body is larger than the gateway's limit of \(gateway.settings.maxBody) bytes").response,
                                  runtime: runtime, outcome: .clientError)
                case .overloaded:
                    return finish(GatewayRefusal(status: .serviceUnavailable, kind: "unavailable", "the gateway holds as many request bodies as it may right now; retry shortly").response,
                                  runtime: runtime, outcome: .cancelled)
                case .client:
                    return finish(GatewayRefusal(status: .badRequest, kind: "invalidInput", "the request body broke off before its end").response,
                                  runtime: runtime, outcome: .cancelled)
                case nil: break
                }
                let failure = UpstreamFailure.classify(error, host: target.host)
                runtime.counters.attempt(failure.outcome, seconds: nil)
                lastRuntime = runtime
                lastOutcome = failure.outcome
                last = failure.response
                if failure.outcome.isTransient, let wait = retryWait(outcome: failure.outcome, headers: [], retry: transientRetries, budgetEnd: budgetEnd) {
                    runtime.counters.retry(failure.outcome.rawValue)
                    transientRetries += 1
                    await sleep(wait)
                    continue
                }
                break
            }
            let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
            let status = Int(answer.status.code)
            gateway.traffic.observeRateLimits(keyID: runtime.keyID, headers: answer.headers)
            if (200...299).contains(status) {
                runtime.counters.attempt(.ok, seconds: seconds)
                runtime.succeeded()
                // Counted when the stream ends, by how it ended.
                return streamed(answer, ticket: ticket)
            }
            if (300...399).contains(status) {
                ticket.end()
                runtime.counters.attempt(.unexpected, seconds: seconds)
                // The host only: a redirect may echo the query, and with it a key sent as `?key=`.
                let location = answer.headers.first(name: "location").flatMap { URLComponents(string: $0)?.host }.map { " to \($0)" } ?? ""
                return finish(GatewayRefusal(status: .badGateway, kind: "unexpected",
                                             "\(provider.name) answered HTTP \(status) (a redirect\(location)); the gateway does not follow redirects, so the key was not sent there",
                                             final: true, outcome: .unexpected).response, runtime: runtime, outcome: .unexpected)
            }
            let headers = answer.headers.map { ($0.name, $0.value) }
            let errorBody: ByteBuffer
            do {
                errorBody = try await answer.body.collect(upTo: Self.errorBodyLimit)
            } catch {
                // Too big to be an error document, or broken: passed on by status alone.
                ticket.end()
                runtime.counters.attempt(.unexpected, seconds: seconds)
                return finish(GatewayRefusal(status: .badGateway, kind: "unexpected", "\(provider.name) answered HTTP \(status) with a body the gateway could not read", outcome: .unexpected).response,
                              runtime: runtime, outcome: .unexpected)
            }
            ticket.end()
            let (outcome, _) = GatewayClassifier.classify(status: status, headers: headers, body: Array(errorBody.readableBytesView), provider: provider)
            runtime.counters.attempt(outcome, seconds: seconds)
            let unchanged = passOn(answer, body: errorBody)
            last = unchanged
            lastRuntime = runtime
            lastOutcome = outcome
            switch outcome {
            case .invalid, .forbidden, .noCredit:
                gateway.recordRejection(member: member, runtime: runtime, pool: serving.pool, outcome: outcome, status: status, method: method.rawValue,
                                        path: String(remainder.prefix(200)), caller: caller)
                excluded.insert(index)
                if !resentAfterRefusal, serving.nextAfterRefusal(excluding: excluded, now: .now()) != nil {
                    resentAfterRefusal = true
                    runtime.counters.failover()
                    continue
                }
            case .rateLimited:
                let consecutive = runtime.rateLimited()
                runtime.coolDown(for: GatewayRetry.cooldown(headers: headers, consecutive: consecutive), now: .now())
                excluded.insert(index)
                if serving.hasUsable(excluding: excluded, now: .now()) { continue }
            default:
                if let wait = retryWait(outcome: outcome, headers: headers, retry: transientRetries, budgetEnd: budgetEnd) {
                    runtime.counters.retry(outcome.isTransient ? outcome.rawValue : "x_should_retry")
                    transientRetries += 1
                    await sleep(wait)
                    continue
                }
            }
            break
        }
        guard let last, let lastRuntime else {
            gateway.metrics.keylessRequest(provider: provider.name, outcome: .refused)
            return GatewayRefusal(status: .serviceUnavailable, kind: "unavailable", "no \(provider.name) key of scope \(serving.pool.scope) can serve now (every key failed or is resting)").response
        }
        return finish(last, runtime: lastRuntime, outcome: lastOutcome)
    }

    /// Counts the request `response` answers (a streamed answer counts itself when it ends).
    private func finish(_ response: Response, runtime: KeyRuntime, outcome: GatewayOutcome) -> Response {
        runtime.counters.request(outcome)
        gateway.traffic.count(keyID: runtime.keyID, caller: caller, outcome: outcome)
        return response
    }

    private func retryWait(outcome: GatewayOutcome, headers: [(String, String)], retry: Int, budgetEnd: NIODeadline) -> Double? {
        guard let wait = GatewayRetry.transientWait(outcome: outcome, headers: headers, retry: retry, random: Double.random(in: 0..<1)) else { return nil }
        return NIODeadline.now() + .nanoseconds(Int64(wait * 1e9)) < budgetEnd ? wait : nil
    }

    private func sleep(_ seconds: Double) async {
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    }

    /// One attempt with `member`'s key, up to the answer's head.
    private func send(_ member: GatewayMember) async throws -> HTTPClientResponse {
        var upstream = HTTPClientRequest(url: UpstreamRequest.appendingQueryKey(target.url, provider: provider, key: member.value))
        upstream.method = method
        upstream.headers = UpstreamRequest.headers(from: request.headers, provider: provider, key: member.value)
        if method != .GET && method != .HEAD || body.length != nil {
            upstream.body = .stream(body.attempt, length: body.length.map { .known(Int64($0)) } ?? .unknown)
        }
        let client = try gateway.clients.client(host: target.host, scheme: target.scheme)
        let result = try await client.execute(upstream, deadline: .now() + gateway.settings.headTimeout)
        await body.finishReading()
        return result
    }

    /// The provider's answer as it came, its body already read.
    private func passOn(_ answer: HTTPClientResponse, body: ByteBuffer) -> Response {
        Response(status: HTTPResponse.Status(code: Int(answer.status.code)), headers: responseHeaders(answer),
                 body: ResponseBody(byteBuffer: body))
    }

    /// A 2xx answer, streamed: each chunk is written to the client as it
    /// arrives. The key counts as in flight until the stream ends.
    private func streamed(_ answer: HTTPClientResponse, ticket: InFlight) -> Response {
        let length = answer.headers.first(name: "content-length").flatMap { Int($0) }
        let metrics = gateway.metrics
        let provider = provider.name, scope = serving.pool.poolScope
        let arrived = arrived
        let upstreamBody = answer.body
        let runtime = ticket.runtime
        let caller = caller, traffic = gateway.traffic
        return Response(status: HTTPResponse.Status(code: Int(answer.status.code)), headers: responseHeaders(answer),
                        body: ResponseBody(contentLength: length) { writer in
                            defer { ticket.end() }
                            metrics.headWritten(provider: provider, scope: scope, seconds: Double((NIODeadline.now() - arrived).nanoseconds) / 1e9)
                            var outcome = GatewayOutcome.ok
                            defer {
                                runtime.counters.request(outcome)
                                traffic.count(keyID: runtime.keyID, caller: caller, outcome: outcome)
                            }
                            // The head is out: whatever happens now, nothing is retried, and
                            // Hummingbird closes the connection if this throws.
                            var chunks = upstreamBody.makeAsyncIterator()
                            while true {
                                let chunk: ByteBuffer?
                                do {
                                    chunk = try await chunks.next()
                                } catch {
                                    outcome = .streamError  // the provider broke off
                                    throw error
                                }
                                guard let chunk else { break }
                                do {
                                    try await writer.write(chunk)
                                } catch {
                                    outcome = .cancelled  // the client left; dropping the body cancels upstream
                                    throw error
                                }
                            }
                            try await writer.finish(nil)
                        })
    }

    private func responseHeaders(_ answer: HTTPClientResponse) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(answer.headers.count)
        for (name, value) in answer.headers where !UpstreamRequest.droppedResponseHeaders.contains(name.lowercased()) {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return fields
    }
}

/// A key's request in flight: ended once, by the attempt's end or the
/// stream's, or when the answer is dropped without being written.
final class InFlight: Sendable {
    let runtime: KeyRuntime
    private let ended = NIOLockedValueBox(false)

    init(_ runtime: KeyRuntime) { self.runtime = runtime }

    func end() {
        let first = ended.withLockedValue { ended in
            defer { ended = true }
            return !ended
        }
        if first { runtime.end() }
    }

    deinit { end() }
}

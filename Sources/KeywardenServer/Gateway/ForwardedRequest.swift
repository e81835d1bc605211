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
        var plan = AttemptPlan(gateway: gateway, serving: serving, caller: caller, method: method.rawValue, remainder: remainder, arrived: arrived)
        var last: (response: Response, runtime: KeyRuntime, outcome: GatewayOutcome)?
        while let index = plan.nextMember() {
            let member = serving.pool.members[index]
            let runtime = serving.runtimes[index]
            runtime.begin()
            let ticket = InFlight(runtime)
            let started = NIODeadline.now()
            let answer: HTTPClientResponse
            let next: AttemptPlan.Next
            do {
                answer = try await send(member)
            } catch {
                ticket.end()
                // The client's own body failed: not the key's doing, and nothing to retry.
                if let (refusal, outcome) = body.failure.map(refusal(for:)) {
                    plan.count(outcome, runtime: runtime)
                    return refusal.response
                }
                let failure = UpstreamFailure.classify(error, host: target.host)
                last = (failure.response, runtime, failure.outcome)
                next = plan.afterFailure(failure, runtime: runtime)
                if case .retry(let wait) = next { await sleep(wait) }
                if next == .giveUp { break } else { continue }
            }
            let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
            let status = Int(answer.status.code)
            switch plan.received(status: status, headers: answer.headers, seconds: seconds, runtime: runtime) {
            case .success:
                // Counted when the stream ends, by how it ended.
                return streamed(answer, ticket: ticket, plan: plan)
            case .redirect(let refusal):
                ticket.end()
                plan.count(.unexpected, runtime: runtime)
                return refusal.response
            case .classify:
                break
            }
            let headers = answer.headers.map { ($0.name, $0.value) }
            let errorBody: ByteBuffer
            do {
                errorBody = try await answer.body.collect(upTo: Self.errorBodyLimit)
            } catch {
                ticket.end()
                plan.count(.unexpected, runtime: runtime)
                return plan.unreadableBody(status: status, seconds: seconds, runtime: runtime).response
            }
            ticket.end()
            let outcome: GatewayOutcome
            (outcome, next) = plan.afterAnswer(status: status, headers: headers, body: Array(errorBody.readableBytesView), seconds: seconds, index: index)
            last = (passOn(answer, body: errorBody), runtime, outcome)
            if case .retry(let wait) = next { await sleep(wait) }
            if next == .giveUp { break }
        }
        guard let last else { return plan.noKeyCanServe().response }
        plan.count(last.outcome, runtime: last.runtime)
        return last.response
    }

    /// What the client gets when its own request body failed, and how the request counts.
    private func refusal(for failure: ReplayableBody.Failure) -> (GatewayRefusal, GatewayOutcome) {
        switch failure {
        case .tooLarge:
            (GatewayRefusal(status: .contentTooLarge, kind: "invalidInput", "the request body is larger than the gateway's limit of \(gateway.settings.maxBody) bytes"), .clientError)
        case .overloaded:
            (GatewayRefusal(status: .serviceUnavailable, kind: "unavailable", "the gateway holds as many request bodies as it may right now; retry shortly"), .cancelled)
        case .client:
            (GatewayRefusal(status: .badRequest, kind: "invalidInput", "the request body broke off before its end"), .cancelled)
        }
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
    private func streamed(_ answer: HTTPClientResponse, ticket: InFlight, plan: AttemptPlan) -> Response {
        let length = answer.headers.first(name: "content-length").flatMap { Int($0) }
        let metrics = gateway.metrics
        let provider = provider.name, scope = serving.pool.poolScope
        let arrived = arrived
        let upstreamBody = answer.body
        let runtime = ticket.runtime
        return Response(status: HTTPResponse.Status(code: Int(answer.status.code)), headers: responseHeaders(answer),
                        body: ResponseBody(contentLength: length) { writer in
                            defer { ticket.end() }
                            metrics.headWritten(provider: provider, scope: scope, seconds: Double((NIODeadline.now() - arrived).nanoseconds) / 1e9)
                            var outcome = GatewayOutcome.ok
                            defer { plan.count(outcome, runtime: runtime) }
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
        UpstreamRequest.responseFields(answer.headers)
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

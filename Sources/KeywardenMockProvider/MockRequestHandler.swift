import Foundation
import KeywardenCore
import NIOCore
import NIOHTTP1

/// Answers one connection's requests as the provider named by the path's
/// first segment would, in the situation the key's words (or a scenario set
/// at run time) name.
final class MockRequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: MockState
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(state: MockState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(let buffer):
            let room = MockRequest.bodyLimit - body.count
            if room > 0 { body += buffer.readableBytesView.prefix(room) }
        case .end:
            guard let head else { return }
            let body = self.body
            self.head = nil
            self.body = []
            respond(to: head, body: body, context: context)
        }
    }

    /// What goes back: a whole body, or an SSE stream sent event by event.
    private enum Answer: Sendable {
        case whole(ProbeResponse)
        case stream(headers: [(String, String)], events: [[UInt8]], stallAfter: Int?)
    }

    private func respond(to head: HTTPRequestHead, body: [UInt8], context: ChannelHandlerContext) {
        let target = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = target.first.map(String.init) ?? head.uri
        let request = MockRequest(method: head.method.rawValue, path: path, query: target.count > 1 ? String(target[1]) : nil,
                                  headers: head.headers.map { ($0.name, $0.value) }, body: body)
        let segments = path.split(separator: "/").map(String.init)
        if segments.first == MockRelay.pathPrefix {
            let count = state.record(key: Self.bearer(in: head) ?? "", path: path, headers: request.headers.map { ($0.name, $0.value) }, request: request)
            return send(MockRelay.respond(to: request, count: count), keepAlive: head.isKeepAlive, context: context)
        }
        guard let providerName = segments.first, let provider = BuiltinProviders.provider(named: providerName) else {
            state.record(unrouted: request)
            return send(ProbeResponse(status: 404, headers: Self.json, body: #"{"error":"unknown mock provider path"}"#), keepAlive: head.isKeepAlive, context: context)
        }
        let key = Self.key(in: head, for: provider.definition)
        let count = state.record(key: key ?? "", path: path, headers: request.headers.map { ($0.name, $0.value) }, request: request)
        if let admin = state.admin.answer(provider: provider.name, method: head.method.rawValue, path: path, body: body, key: key, state: state) {
            guard let response = admin else { return }  // a hang
            return send(response, keepAlive: head.isKeepAlive, context: context)
        }
        guard let key else {
            return send(provider.answer(for: "invalid")?.response ?? ProbeResponse(status: 401, headers: Self.json, body: "{}"), keepAlive: head.isKeepAlive, context: context)
        }
        var words = state.scenario(for: key) ?? key.lowercased()
        let providerPath = "/" + segments.dropFirst().joined(separator: "/")
        let balance = state.balance(for: key)
        let onBalancePath = MockBalances.isBalancePath(provider.name, providerPath)
        // A drained key (balance set at or below zero) is out of credit everywhere but its balance endpoint.
        if let balance, !onBalancePath, (Double(balance) ?? 1) <= 0 { words += " nocredit" }
        if words.contains("hangbody") {
            return deliver(.stream(headers: Self.sseHeaders(provider), events: MockStreams.events(provider: provider.name), stallAfter: 1),
                           keepAlive: head.isKeepAlive, context: context)
        }
        if words.contains("hang") { return }
        if words.contains("reset") {
            // SO_LINGER 0: close sends a TCP reset instead of a clean FIN.
            if let socket = context.channel as? any SocketOptionProvider {
                _ = socket.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            }
            context.close(promise: nil)
            return
        }
        if words.contains("redirect") {
            return send(ProbeResponse(status: 302, headers: [("location", "http://elsewhere.invalid\(path)"), ("content-type", "text/plain")], body: "moved"), keepAlive: head.isKeepAlive, context: context)
        }
        if words.contains("portal") {
            return send(ProbeResponse(status: 200, headers: [("content-type", "text/html")], body: "<html><body>Sign in to the Wi-Fi network</body></html>"), keepAlive: head.isKeepAlive, context: context)
        }
        var answer: Answer
        if onBalancePath, balance != nil || provider.name == "moonshot",
           !provider.answers.contains(where: { $0.scenario != "valid" && words.contains($0.scenario) }),
           let reported = MockBalances.answer(provider.name, amount: balance ?? MockBalances.defaults[provider.name] ?? "0") {
            answer = .whole(reported)
        } else if words.contains("flakyoverload") {
            answer = count == 1 ? .whole(Self.overloaded(provider)) : Self.answer(provider, words: words, method: head.method, path: path, body: body)
        } else if words.contains("flaky") && count <= 2 {
            answer = .whole(ProbeResponse(status: 503, headers: Self.json, body: #"{"error":{"message":"Service temporarily unavailable"}}"#))
        } else {
            answer = Self.answer(provider, words: words, method: head.method, path: path, body: body)
        }
        answer = Self.withRateLimitHeaders(answer, provider: provider.name, requests: count)
        if words.contains("gzip") { answer = Self.gzipped(answer) }
        if words.contains("slow") {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: MockProviderServer.slowDelay) { [answer] in
                self.deliver(answer, keepAlive: head.isKeepAlive, context: loopBound.value)
            }
            return
        }
        deliver(answer, keepAlive: head.isKeepAlive, context: context)
    }

    /// The documented answer the words name (the longest matching word wins),
    /// or for a valid key's chat request the mock's chat answer.
    private static func answer(_ provider: BuiltinProvider, words: String, method: HTTPMethod, path: String, body: [UInt8]) -> Answer {
        let scenario = provider.answers.filter { words.contains($0.scenario) }.max { $0.scenario.count < $1.scenario.count }
        if scenario == nil || scenario?.scenario == "valid", method == .POST, isChat(provider, path: path) {
            if MockStreams.asksForStream(body) {
                return .stream(headers: sseHeaders(provider), events: MockStreams.events(provider: provider.name), stallAfter: nil)
            }
            var response = ProbeResponse(status: 200, headers: [json[0], requestID(provider)], body: "")
            response.body = MockProviderServer.expectedMessage(provider: provider.name)
            return .whole(response)
        }
        var response = scenario?.response ?? provider.answer(for: "valid")?.response ?? ProbeResponse(status: 200, headers: json, body: "{}")
        // Clients (and the gateway's cooldowns) honour it; a short one keeps tests fast.
        if scenario?.scenario == "ratelimited", response.header("retry-after") == nil {
            response.headers.append(("retry-after", "1"))
        }
        return .whole(response)
    }

    /// A 2xx answer with the provider's rate-limit headers added, unless it has its own.
    private static func withRateLimitHeaders(_ answer: Answer, provider: String, requests: Int) -> Answer {
        let added = MockBalances.rateLimitHeaders(provider, requests: requests)
        guard !added.isEmpty else { return answer }
        func hasOwn(_ headers: [(String, String)]) -> Bool { headers.contains { $0.0.lowercased().contains("ratelimit") } }
        switch answer {
        case .whole(var response) where (200...299).contains(response.status) && !hasOwn(response.headers):
            response.headers += added
            return .whole(response)
        case .stream(let headers, let events, let stallAfter) where !hasOwn(headers):
            return .stream(headers: headers + added, events: events, stallAfter: stallAfter)
        default:
            return answer
        }
    }

    /// The bearer token of a request, if any.
    static func bearer(in head: HTTPRequestHead) -> String? {
        guard let value = head.headers.first(name: "authorization"), value.hasPrefix("Bearer ") else { return nil }
        return String(value.dropFirst(7))
    }

    /// A chat endpoint: Anthropic's Messages API, or an OpenAI-style chat completions path.
    private static func isChat(_ provider: BuiltinProvider, path: String) -> Bool {
        provider.name == "anthropic" ? path.hasSuffix("/v1/messages") : path.hasSuffix("/chat/completions")
    }

    /// The provider's documented overloaded answer (Anthropic's 529), else
    /// its documented 503, else a generic 503.
    private static func overloaded(_ provider: BuiltinProvider) -> ProbeResponse {
        provider.answer(for: "overloaded")?.response
            ?? provider.answers.first { $0.response.status == 503 }?.response
            ?? ProbeResponse(status: 503, headers: json, body: #"{"error":{"message":"The server is overloaded, please try again later.","type":"server_error"}}"#)
    }

    private static func requestID(_ provider: BuiltinProvider) -> (String, String) {
        provider.name == "anthropic" ? ("request-id", "req_01MockKeywarden0000000001") : ("x-request-id", "req_mockkeywarden0000000000000001")
    }

    private static func sseHeaders(_ provider: BuiltinProvider) -> [(String, String)] {
        [("content-type", "text/event-stream"), ("cache-control", "no-cache"), requestID(provider)]
    }

    /// The same answer with its body gzip-encoded; a stream keeps its number
    /// of chunks, each a slice of the encoded whole.
    private static func gzipped(_ answer: Answer) -> Answer {
        switch answer {
        case .whole(var response):
            response.body = MockGzip.encode(response.body)
            response.headers.append(("content-encoding", "gzip"))
            return .whole(response)
        case .stream(let headers, let events, let stallAfter):
            return .stream(headers: headers + [("content-encoding", "gzip")],
                           events: MockGzip.slices(of: MockGzip.encode(events.flatMap { $0 }), count: events.count), stallAfter: stallAfter)
        }
    }

    private func deliver(_ answer: Answer, keepAlive: Bool, context: ChannelHandlerContext) {
        switch answer {
        case .whole(let response):
            send(response, keepAlive: keepAlive, context: context)
        case .stream(let headers, let events, let stallAfter):
            MockChunkedAnswer(headers: headers, chunks: events.map { context.channel.allocator.buffer(bytes: $0) },
                              delay: state.streamDelay, stallAfter: stallAfter, keepAlive: keepAlive).start(context: context)
        }
    }

    /// The key where `provider` expects it, or nil when it is not there.
    static func key(in head: HTTPRequestHead, for provider: ProviderDefinition) -> String? {
        switch provider.auth.style {
        case .bearer:
            guard let value = head.headers.first(name: "authorization"), value.hasPrefix("Bearer ") else { return nil }
            return String(value.dropFirst(7))
        case .header:
            return head.headers.first(name: provider.auth.name ?? "x-api-key")
        case .query:
            let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
            for pair in query.split(separator: "&") where pair.hasPrefix("\(provider.auth.name ?? "key")=") {
                return String(pair.dropFirst((provider.auth.name ?? "key").count + 1)).removingPercentEncoding
            }
            return nil
        }
    }

    private static let json = [("content-type", "application/json")]

    /// Answers, and keeps the connection for the client's next request
    /// unless it asked to close (`keepAlive` false) or the answer says close.
    private func send(_ response: ProbeResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        headers.replaceOrAdd(name: "content-length", value: String(response.body.count))
        let close = !keepAlive || headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
        if close { headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}

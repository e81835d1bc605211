import Foundation
import NIOCore
import NIOHTTP1

/// The HTTP stage: one request on an open connection.
extension ProbeClient {
    /// How a request on a connection ended.
    enum ExchangeOutcome {
        case answered(ProbeResponse, StageReport)
        /// `resendable`: no byte of an answer arrived on a reused
        /// connection, so the server never saw the request.
        case failed(ProbeFailure, StageReport, resendable: Bool)
    }

    /// Sends `request` on `connection` and reads the answer. The connection
    /// goes back to the pool after a complete answer that allows keep-alive;
    /// otherwise (no pool, `Connection: close`, a body past the limit, any
    /// failure) it is closed. Reports are returned, not recorded: the caller
    /// decides whether a failure on a reused connection is the final word.
    func exchange(_ request: ProbeRequest, on opened: ProbeConnection, proxy: ProxySettings.Endpoint?, target: ProbeTarget,
                  deadline: NIODeadline) async -> ExchangeOutcome {
        var connection = opened
        let channel = connection.channel
        let reused = connection.exchange != nil
        if request.scheme == "http", !request.allowsInsecureHTTP {
            // The plain-HTTP exception is for this machine only: a name
            // (`localhost`) is a lookup, so check where we actually are.
            guard let peer = channel.remoteAddress, LoopbackHost.contains(address: peer) else {
                connection.close()
                let failure = ProbeFailure(stage: proxy != nil ? .proxy : .connect, outcome: .unexpected,
                                           detail: "refusing to send the key over plain HTTP: \(proxy?.host ?? request.host) resolved to \(channel.remoteAddress.map { "\($0)" } ?? "an unknown address"), which is not this machine; nothing was sent")
                return .failed(failure, StageReport(stage: failure.stage, ok: false, milliseconds: 0, detail: failure.detail), resendable: false)
            }
        }

        let started = NIODeadline.now()
        do {
            let handler: NIOLoopBound<ExchangeHandler>
            if let installed = connection.exchange {
                handler = installed
            } else {
                handler = try await Self.installHTTP(on: channel)
                connection.exchange = handler
            }
            var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method),
                                       uri: proxy != nil && request.scheme == "http" ? "http://\(request.host):\(request.port)\(request.target)" : request.target)
            for (name, value) in request.headers { head.headers.add(name: name, value: value) }
            if let credentials = proxy?.credentials, request.scheme == "http" {
                head.headers.add(name: "proxy-authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
            }
            // Without a pool the connection serves this request only; say so,
            // so the server does not hold it open for nothing.
            if pool == nil { head.headers.add(name: "connection", value: "close") }
            let done = channel.eventLoop.makePromise(of: ExchangeResult.self)
            let (requestHead, body, credential, limit) = (head, request.body, request.credential, bodyLimit)
            let openDeadline = connection.openDeadline
            connection.openDeadline = nil
            channel.eventLoop.execute {
                // From here the exchange handler keeps the time, on this loop.
                openDeadline?.cancel()
                // The key is added by the encoder, from guarded memory, as the head is written.
                handler.value.start(head: requestHead, body: body, credential: credential, bodyLimit: limit, deadline: deadline, done: done)
            }
            let result = try await done.futureResult.get()
            if result.reusable, let pool {
                await pool.put(connection, for: target)
            } else {
                connection.close()
            }
            return .answered(result.response, StageReport(stage: .http, ok: true, milliseconds: Self.ms(since: started),
                                                          detail: "\(request.method) \(request.displayURL) → HTTP \(result.response.status)"))
        } catch {
            connection.close()
            let exchangeError = error as? ExchangeError
            let failure = Self.failure(.http, .connectError, deadline: deadline,
                                       late: "no HTTP answer from \(request.host) within the time limit",
                                       otherwise: "the connection to \(request.host) broke before an answer: \(Self.describe(exchangeError?.underlying ?? error))")
            return .failed(failure, StageReport(stage: .http, ok: false, milliseconds: Self.ms(since: started), detail: failure.detail),
                           resendable: reused && exchangeError?.answerStarted == false)
        }
    }

    /// Adds the HTTP handlers to a connection, once: the key's encoder, the
    /// response decoder and the exchange handler, which then serve every
    /// request the connection carries.
    static func installHTTP(on channel: any Channel) async throws -> NIOLoopBound<ExchangeHandler> {
        try await channel.eventLoop.submit {
            let encoder = CredentialRequestEncoder()
            let exchange = ExchangeHandler(encoder: encoder)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(encoder)
            try pipeline.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
            try pipeline.addHandler(exchange)
            return NIOLoopBound(exchange, eventLoop: channel.eventLoop)
        }.get()
    }
}

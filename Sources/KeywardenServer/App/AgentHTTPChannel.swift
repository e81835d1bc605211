import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 child channel with handlers of Keywarden's own
/// that answer some requests on the event loop: `addHandlers` puts them in
/// place, given the connection state handler (idle timeout, graceful
/// shutdown). Handlers right after that one answer requests while the state
/// handler still sees every decoded request and answer;
/// `additionalChannelHandlers` go before it, where answering requests would
/// hide them from it.
struct HTTP1ChannelWithFastPath: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let addHandlers: @Sendable (ChannelPipeline.SynchronousOperations, HTTPConnectionStateHandler) throws -> Void

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            try addHandlers(pipeline, try pipeline.handler(type: HTTPConnectionStateHandler.self))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 as `.http1(configuration:)` serves it, plus the agent's hot
    /// path: ``HotKeyReads`` right after the connection state handler, and
    /// ``RawKeyReads`` first of all, for repeats that need no decoding.
    static func agentHTTP1(configuration: HTTP1Channel.Configuration, agent: AgentDependencies) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            HTTP1ChannelWithFastPath(http1: HTTP1Channel(responder: responder, configuration: configuration)) { pipeline, state in
                let connection = HotConnection(agent: agent)
                try pipeline.addHandler(HotKeyReads(connection: connection), position: .after(state))
                try pipeline.addHandler(RawKeyReads(connection: connection), position: .first)
            }
        }
    }

    /// HTTP/1.1 as `.http1(configuration:)` serves it, plus the gateway's
    /// fast path: ``FastForwarding`` right after the connection state
    /// handler, and ``RawForwarding`` first of all, for requests that need
    /// no decoding.
    static func gatewayHTTP1(configuration: HTTP1Channel.Configuration, gateway: Gateway) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            HTTP1ChannelWithFastPath(http1: HTTP1Channel(responder: responder, configuration: configuration)) { pipeline, state in
                let decoded = FastForwarding(gateway: gateway)
                try pipeline.addHandler(decoded, position: .after(state))
                try pipeline.addHandler(RawForwarding(gateway: gateway, decoded: decoded), position: .first)
            }
        }
    }
}

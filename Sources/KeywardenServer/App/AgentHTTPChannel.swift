import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 child channel with the agent's hot path: ``HotKeyReads``
/// right after its connection state handler, so that hot key reads are
/// answered on the event loop while the state handler still sees every
/// decoded request and answer (idle timeout, graceful shutdown);
/// `additionalChannelHandlers` go before that handler, where answering
/// requests would hide them from it. And ``RawKeyReads`` first of all, for
/// repeats that need no decoding.
struct AgentHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let agent: AgentDependencies

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let state = try pipeline.handler(type: HTTPConnectionStateHandler.self)
            let connection = HotConnection(agent: agent)
            try pipeline.addHandler(HotKeyReads(connection: connection), position: .after(state))
            try pipeline.addHandler(RawKeyReads(connection: connection), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 as `.http1(configuration:)` serves it, plus the agent's hot path.
    static func agentHTTP1(configuration: HTTP1Channel.Configuration, agent: AgentDependencies) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            AgentHTTPChannel(http1: HTTP1Channel(responder: responder, configuration: configuration), agent: agent)
        }
    }
}

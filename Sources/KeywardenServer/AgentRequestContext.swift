import Hummingbird
import NIOCore

/// Hummingbird's context plus the connection's channel, from which the
/// kernel's view of the peer (`SO_PEERCRED`) is read.
public struct AgentRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Requests are small JSON documents; anything bigger is refused (413).
    public var maxUploadSize: Int { 64 * 1024 }
}

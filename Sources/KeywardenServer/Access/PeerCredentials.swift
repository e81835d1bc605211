import CPeerCredentials
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// Who is on the other end of a Unix socket connection, from the kernel
/// (`SO_PEERCRED`): it cannot be forged by the client.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32

    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }

    public var description: String { "uid \(uid), pid \(pid)" }

    /// Reads the peer of `channel` (a connected Unix socket). On the
    /// channel's event loop the future is already complete.
    static func of(_ channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeFailedFuture(PeerCredentialsUnavailable()) }
        let raw: EventLoopFuture<kw_ucred> = provider.unsafeGetSocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: kw_so_peercred()))
        return raw.map { PeerCredentials(uid: $0.uid, gid: $0.gid, pid: $0.pid) }
    }

    struct PeerCredentialsUnavailable: Error {}
}

/// Where ``CallerMiddleware`` learns who sent a request. The agent asks the
/// kernel (``KernelPeers``); tests swap in their own to act as the owner or
/// as another user without a socket of their own.
protocol PeerIdentifier: Sendable {
    /// The peer of the connection `request` arrived on; throws when it
    /// cannot be known (the request is then refused).
    func peer(of request: Request, context: AgentRequestContext) async throws -> PeerCredentials

    /// The same, for ``HotKeyReads`` on the connection's event loop, before
    /// the router has a `Request`; fails when the peer cannot be known.
    func peer(of channel: any Channel, head: HTTPRequest) -> EventLoopFuture<PeerCredentials>

    /// Whether all requests of a connection come from the same peer (the
    /// kernel's answer cannot change), so that it is asked once per connection.
    var samePeerPerConnection: Bool { get }
}

/// The kernel's answer (`SO_PEERCRED`), read once per connection: it cannot
/// change while a connection lives, so it is not read again per request.
final class KernelPeers: PeerIdentifier {
    private let peers = NIOLockedValueBox<[ObjectIdentifier: PeerCredentials]>([:])

    var samePeerPerConnection: Bool { true }

    func peer(of request: Request, context: AgentRequestContext) async throws -> PeerCredentials {
        try await peer(of: context.channel).get()
    }

    func peer(of channel: any Channel, head: HTTPRequest) -> EventLoopFuture<PeerCredentials> {
        peer(of: channel)
    }

    private func peer(of channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        let id = ObjectIdentifier(channel)
        if let known = peers.withLockedValue({ $0[id] }) { return channel.eventLoop.makeSucceededFuture(known) }
        return PeerCredentials.of(channel).map { [peers] peer in
            let added = peers.withLockedValue { peers in peers.updateValue(peer, forKey: id) == nil }
            if added { channel.closeFuture.whenComplete { _ in peers.withLockedValue { _ = $0.removeValue(forKey: id) } } }
            return peer
        }
    }
}

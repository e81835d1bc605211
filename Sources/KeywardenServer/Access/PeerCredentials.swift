import CPeerCredentials
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

    /// Reads the peer of `channel` (a connected Unix socket).
    static func of(_ channel: any Channel) async throws -> PeerCredentials {
        guard let provider = channel as? any SocketOptionProvider else { throw PeerCredentialsUnavailable() }
        let raw: kw_ucred = try await provider.unsafeGetSocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: kw_so_peercred())).get()
        return PeerCredentials(uid: raw.uid, gid: raw.gid, pid: raw.pid)
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
}

/// The kernel's answer (`SO_PEERCRED`), read once per connection: it cannot
/// change while a connection lives, so it is not read again per request.
final class KernelPeers: PeerIdentifier {
    private let peers = NIOLockedValueBox<[ObjectIdentifier: PeerCredentials]>([:])

    func peer(of request: Request, context: AgentRequestContext) async throws -> PeerCredentials {
        let channel = context.channel
        let id = ObjectIdentifier(channel)
        if let known = peers.withLockedValue({ $0[id] }) { return known }
        let peer = try await PeerCredentials.of(channel)
        peers.withLockedValue { $0[id] = peer }
        channel.closeFuture.whenComplete { [peers] _ in peers.withLockedValue { _ = $0.removeValue(forKey: id) } }
        return peer
    }
}

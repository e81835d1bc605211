import CPeerCredentials
import NIOConcurrencyHelpers
import NIOCore

/// Who is on the other end of a Unix socket connection, from the kernel
/// (`SO_PEERCRED`): it cannot be forged by the client.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32

    public var description: String { "uid \(uid), pid \(pid)" }

    /// Reads the peer of `channel` (a connected Unix socket).
    static func of(_ channel: any Channel) async throws -> PeerCredentials {
        guard let provider = channel as? any SocketOptionProvider else { throw PeerCredentialsUnavailable() }
        let raw: kw_ucred = try await provider.unsafeGetSocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: kw_so_peercred())).get()
        return PeerCredentials(uid: raw.uid, gid: raw.gid, pid: raw.pid)
    }

    struct PeerCredentialsUnavailable: Error {}
}

/// Peers by connection: the kernel's answer cannot change while a connection
/// lives, so it is read once per connection, not once per request.
final class PeerCache: Sendable {
    private let peers = NIOLockedValueBox<[ObjectIdentifier: PeerCredentials]>([:])

    func peer(of channel: any Channel) async throws -> PeerCredentials {
        let id = ObjectIdentifier(channel)
        if let known = peers.withLockedValue({ $0[id] }) { return known }
        let peer = try await PeerCredentials.of(channel)
        peers.withLockedValue { $0[id] = peer }
        channel.closeFuture.whenComplete { [peers] _ in peers.withLockedValue { _ = $0.removeValue(forKey: id) } }
        return peer
    }
}

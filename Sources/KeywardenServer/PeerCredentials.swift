import CPeerCredentials
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

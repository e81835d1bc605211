#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `sd_notify(3)` protocol, without linking libsystemd: when the agent runs
/// as a `Type=notify` unit, systemd passes a datagram socket in `$NOTIFY_SOCKET`
/// and waits for `READY=1` before it counts the service as started, so units
/// ordered after `keywarden.service` (and `systemctl --user start`) return only
/// once the socket accepts connections. Outside systemd the variable is unset
/// and every call is a no-op.
///
/// The variable is kept in the environment on purpose: a lock replaces the
/// process image with a locked agent of the same pid (`LockedRestart`), which
/// reports itself to systemd again.
public enum SystemdNotify {
    /// Sends `state` (newline-separated `KEY=VALUE` assignments such as
    /// `READY=1`) to `$NOTIFY_SOCKET`. Returns false when there is no such
    /// socket or the datagram could not be sent; the agent runs on either way.
    @discardableResult
    public static func send(_ state: String, environment: [String: String]) -> Bool {
        guard let target = environment["NOTIFY_SOCKET"], !target.isEmpty else { return false }
        // A path, or an abstract name written with a leading "@".
        guard target.hasPrefix("/") || target.hasPrefix("@") else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(target.utf8)
        let abstract = name.first == UInt8(ascii: "@")
        if abstract { name[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard name.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (i, byte) in name.enumerated() { path[i] = byte }
        }
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // An abstract name has no terminating NUL: its length is exact.
        let length = MemoryLayout<sa_family_t>.size + name.count + (abstract ? 0 : 1)
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { buffer in
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), socketAddress, socklen_t(length))
                }
            }
        }
        return sent == bytes.count
    }
}

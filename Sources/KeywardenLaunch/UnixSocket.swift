#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPeerCredentials
import NIOCore

/// A connected, blocking Unix stream socket: what one command needs to talk
/// to the agent, with no event loop and no thread of its own (starting
/// SwiftNIO's event loop group cost a command more than the request itself).
/// It moves bytes only; the HTTP on top is SwiftNIO's codec
/// (``HTTPExchange``). Errors are NIO's `IOError`, as they were on a channel.
public final class UnixSocket {
    private var descriptor: Int32

    /// Connects to `path`. A Unix socket connects at once or fails: ENOENT
    /// or ECONNREFUSED when nothing listens there.
    public init(connectingTo path: String) throws(IOError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw IOError(errnoCode: ENAMETOOLONG, reason: "connect")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            _ = systemClose(fd)
            throw IOError(errnoCode: code, reason: "connect")
        }
        descriptor = fd
    }

    deinit { close() }

    /// Closes the connection (again: a no-op).
    public func close() {
        if descriptor >= 0 { _ = systemClose(descriptor) }
        descriptor = -1
    }

    /// The process listening at the other end, as the kernel recorded it when
    /// it accepted the connection (`SO_PEERCRED`); nil when the kernel does not say.
    public func peerCredentials() -> kw_ucred? {
        var credentials = kw_ucred()
        var length = socklen_t(MemoryLayout<kw_ucred>.size)
        guard getsockopt(descriptor, SOL_SOCKET, kw_so_peercred(), &credentials, &length) == 0,
              length == socklen_t(MemoryLayout<kw_ucred>.size) else { return nil }
        return credentials
    }

    /// Whether the connection can carry another request. The agent closes
    /// idle connections, which shows as the socket turning readable (at its
    /// end); bytes nobody asked for make it unusable as well.
    public var isReusable: Bool {
        guard descriptor >= 0 else { return false }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 0
    }

    /// Writes all of each buffer, in order. `MSG_NOSIGNAL`: an agent that went
    /// away is an error here, not a SIGPIPE that ends the command.
    public func send(_ buffers: [ByteBuffer]) throws(IOError) {
        for buffer in buffers {
            let failure: Int32? = buffer.withUnsafeReadableBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let sent = Self.systemSend(descriptor, raw.baseAddress! + offset, raw.count - offset)
                    if sent < 0 {
                        if errno == EINTR { continue }
                        return errno
                    }
                    offset += sent
                }
                return nil
            }
            if let failure { throw IOError(errnoCode: failure, reason: "write") }
        }
    }

    /// Appends what has arrived to `buffer`, waiting until something does;
    /// false at the end of the stream (the agent closed the connection).
    public func receive(into buffer: inout ByteBuffer, atMost count: Int = 65536) throws(IOError) -> Bool {
        while true {
            var code: Int32 = 0
            let received = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
                let n = recv(descriptor, raw.baseAddress, count, 0)
                if n < 0 { code = errno }
                return max(n, 0)
            }
            if code == EINTR { continue }
            if code != 0 { throw IOError(errnoCode: code, reason: "read") }
            return received > 0
        }
    }

    private static func systemSend(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.send(fd, pointer, count, Int32(MSG_NOSIGNAL))
        #else
        Darwin.send(fd, pointer, count, 0)
        #endif
    }
}

/// `close(2)`, which `UnixSocket.close()` hides inside the class.
private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KeywardenCore
import NIOCore

/// Who is on the other end of a loopback TCP connection to the gateway.
/// The kernel gives no peer credentials for TCP, but on Linux it lists each
/// socket's owner in `/proc/net/tcp` (and `tcp6`), and a process's sockets
/// under `/proc/PID/fd`. Reading them costs a scan, so it is done only for
/// what the audit trail names one caller at a time: a refused key.
enum TCPPeers {
    /// The uid, and where it can be seen (the caller runs as the agent's
    /// user, or the agent is root), the pid and program of the process whose
    /// connection from `clientPort` reaches the gateway's `serverPort`.
    static func caller(clientPort: Int, serverPort: Int) -> (uid: UInt32, pid: Int32?, program: String?)? {
        guard let (uid, inode) = socket(localPort: clientPort, remotePort: serverPort) else { return nil }
        guard let pid = process(holding: inode) else { return (uid, nil, nil) }
        let comm = procFile("/proc/\(pid)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines)
        return (uid, pid, comm.map { String($0.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(32).map(Character.init)) })
    }

    /// The owner and inode of the socket bound to `localPort` and connected to `remotePort`.
    static func socket(localPort: Int, remotePort: Int) -> (uid: UInt32, inode: UInt64)? {
        func hex(_ port: Int) -> String {
            let digits = String(port, radix: 16, uppercase: true)
            return ":" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        }
        let local = hex(localPort), remote = hex(remotePort)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = procFile(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 9, fields[1].hasSuffix(local), fields[2].hasSuffix(remote),
                      let uid = UInt32(fields[7]), let inode = UInt64(fields[9]), inode != 0 else { continue }
                return (uid, inode)
            }
        }
        return nil
    }

    /// A file of /proc, read to its end: they report a size of 0, which
    /// Foundation's readers take at its word.
    static func procFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk.prefix(count)
            if bytes.count > 64 << 20 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The process with a descriptor on socket `inode`, among those this process may look into.
    static func process(holding inode: UInt64) -> Int32? {
        let target = "socket:[\(inode)]"
        guard let processes = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        var buffer = [CChar](repeating: 0, count: 64)
        for entry in processes {
            guard let pid = Int32(entry) else { continue }
            guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(entry)/fd") else { continue }
            for fd in fds {
                let count = readlink("/proc/\(entry)/fd/\(fd)", &buffer, buffer.count - 1)
                guard count > 0 else { continue }
                if String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self) == target { return pid }
            }
        }
        return nil
    }
}

extension Channel {
    /// A TCP connection's client and local ports, which name its caller (``TCPPeers``).
    var peerPorts: (client: Int, server: Int)? {
        guard let client = remoteAddress?.port, let server = localAddress?.port else { return nil }
        return (client, server)
    }
}

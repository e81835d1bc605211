#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the CLI checks before it sends an agent anything: whoever listens at
/// the socket path gets the caller's requests (a report's key, `run`'s
/// environment), so a socket planted by another user must never be used.
///
/// - The socket's folder is a folder owned by the caller and not writable by
///   group or others, so nobody else can replace the socket in it.
/// - The socket is a socket owned by the caller and not writable by others
///   (group write is what `serve --socket-group` grants on purpose).
/// - The kernel (`SO_PEERCRED`) says the listening process runs as the
///   caller's uid or as root — checked on every connection, before the
///   request is written, since the file checks alone leave a race.
///
public enum AgentTrust {
    /// Why an agent is not trusted; the text completes "not using the agent at PATH: …".
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
        public init(reason: String) { self.reason = reason }
    }

    /// Checks the socket file and its folder. Returns nil when there is
    /// nothing at `path` (no agent: not worth a warning).
    public static func checkFiles(socket path: String, uid: uid_t = getuid()) -> Result<Void, Refusal>? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let folder = Self.folder(of: path)
        var folderInfo = stat()
        // stat, not lstat: $XDG_RUNTIME_DIR may be reached through a symlink;
        // what matters is who can change the folder the socket is in.
        guard stat(folder, &folderInfo) == 0, (folderInfo.st_mode & S_IFMT) == S_IFDIR else {
            return .failure(Refusal(reason: "its folder \(folder) cannot be checked"))
        }
        if folderInfo.st_uid != uid {
            return .failure(Refusal(reason: "its folder \(folder) belongs to uid \(folderInfo.st_uid), not to you (uid \(uid))"))
        }
        if folderInfo.st_mode & 0o022 != 0 {
            return .failure(Refusal(reason: "its folder \(folder) is writable by other users (mode \(octal(folderInfo.st_mode)))"))
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            return .failure(Refusal(reason: "it is not a socket"))
        }
        if info.st_uid != uid {
            return .failure(Refusal(reason: "the socket belongs to uid \(info.st_uid), not to you (uid \(uid))"))
        }
        if info.st_mode & 0o002 != 0 {
            return .failure(Refusal(reason: "the socket is writable by every user (mode \(octal(info.st_mode)))"))
        }
        return .success(())
    }

    /// Checks the process the kernel reports at the other end of a connection.
    public static func checkPeer(uid peerUID: uid_t, pid: Int32, uid: uid_t = getuid()) -> Result<Void, Refusal> {
        guard peerUID == uid || peerUID == 0 else {
            return .failure(Refusal(reason: "it runs as uid \(peerUID) (pid \(pid)), not as you (uid \(uid)) or root"))
        }
        return .success(())
    }

    private static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func octal(_ mode: mode_t) -> String { "0" + String(mode & 0o777, radix: 8) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPeerCredentials

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
/// Self-contained (libc and the `kw_ucred` mirror only) so that it can move
/// with the agent client into a library target.
enum AgentTrust {
    /// Why an agent is not trusted; the text completes "not using the agent at PATH: …".
    struct Refusal: Error, Equatable, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// Checks the socket file and its folder. Returns nil when there is
    /// nothing at `path` (no agent: not worth a warning).
    static func checkFiles(socket path: String, uid: uid_t = getuid()) -> Result<Void, Refusal>? {
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

    /// Checks the process at the other end of the connected socket `fd`.
    static func checkPeer(of fd: Int32, uid: uid_t = getuid()) -> Result<Void, Refusal> {
        var credentials = kw_ucred()
        var length = socklen_t(MemoryLayout<kw_ucred>.size)
        guard getsockopt(fd, SOL_SOCKET, kw_so_peercred(), &credentials, &length) == 0 else {
            return .failure(Refusal(reason: "the kernel does not say who runs it (SO_PEERCRED: \(String(cString: strerror(errno))))"))
        }
        guard credentials.uid == uid || credentials.uid == 0 else {
            return .failure(Refusal(reason: "it runs as uid \(credentials.uid) (pid \(credentials.pid)), not as you (uid \(uid)) or root"))
        }
        return .success(())
    }

    private static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func octal(_ mode: mode_t) -> String { "0" + String(mode & 0o777, radix: 8) }
}

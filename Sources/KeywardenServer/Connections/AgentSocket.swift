#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenCore

/// Where the agent listens and how the socket is protected: a 0700 folder, a
/// socket bound under `umask 0177` (so it is 0600 from its first moment), or
/// 0660 and a group with `--socket-group`. Never an abstract socket, never TCP.
public struct AgentSocket: Sendable {
    public var path: String
    /// The group allowed to connect (0660), or nil for the owner only (0600).
    public var group: gid_t?

    /// `--socket`, else `$KEYWARDEN_SOCKET`, else `$XDG_RUNTIME_DIR/keywarden/agent.sock`,
    /// else `$XDG_STATE_HOME/keywarden/run/agent.sock` (`~/.local/state/…`).
    ///
    /// Never a fixed path in a world-writable folder such as `/tmp`: another
    /// user could create that folder first and listen there. The fallback is
    /// in the user's own home, where nobody else can create it; the server
    /// makes its folder 0700 and the client checks it before trusting it.
    public static func defaultPath(environment: [String: String]) -> String {
        AgentSocketPath.resolve(environment: environment)
    }

    /// The longest path a `sockaddr_un` holds (107 bytes and a NUL on Linux).
    public static var maximumPathLength: Int { MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1 }

    public init(path: String, group: gid_t? = nil) {
        self.path = path
        self.group = group
    }

    /// Resolves a group name or number.
    public static func group(named name: String) throws(KeywardenError) -> gid_t {
        if let number = gid_t(name) { return number }
        guard let entry = getgrnam(name) else { throw KeywardenError(.invalidInput, "unknown group '\(name)' for --socket-group") }
        return entry.pointee.gr_gid
    }

    /// Prepares the folder, refuses to steal a live agent's socket, removes a
    /// stale one, and sets the umask so the socket is born with its final mode.
    public func prepare() throws(KeywardenError) {
        guard path.utf8.count <= Self.maximumPathLength else {
            throw KeywardenError(.invalidInput, "the socket path \(path) is \(path.utf8.count) bytes, longer than a Unix socket address holds (\(Self.maximumPathLength)); choose a shorter one with --socket or KEYWARDEN_SOCKET")
        }
        let directory = SecureFiles.parentDirectory(of: path)
        var info = stat()
        if stat(directory, &info) == 0 {
            guard info.st_uid == getuid() else {
                throw KeywardenError(.invalidInput, "the socket folder \(directory) belongs to another user; choose another with --socket or KEYWARDEN_SOCKET")
            }
            let allowed: mode_t = group == nil ? 0o700 : 0o750
            if info.st_mode & 0o777 & ~allowed != 0 {
                guard chmod(directory, allowed) == 0 else { throw SecureFiles.posixError("cannot set mode on \(directory)") }
            }
        } else {
            try SecureFiles.ensurePrivateDirectory(directory)
            if group != nil { chmod(directory, 0o750) }
        }
        if let group { chown(directory, getuid(), group) }
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFSOCK else {
                throw KeywardenError(.conflict, "\(path) exists and is not a socket; remove it or choose another path")
            }
            if Self.isLive(path) {
                throw KeywardenError(.conflict, "another agent is already serving at \(path); stop it first (`keywarden lock` or kill it), or use --socket")
            }
            unlink(path)  // stale: left by an agent that crashed
        }
        // From here on every file this process creates is born private: the
        // socket (bound by the server right after) cannot be opened by others
        // even for an instant.
        umask(group == nil ? 0o177 : 0o117)
    }

    /// After binding: give the socket its group.
    public func finishBinding() {
        if let group {
            chown(path, getuid(), group)
            chmod(path, 0o660)
        } else {
            chmod(path, 0o600)
        }
    }

    /// Whether something accepts connections on `path`.
    public static func isLive(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (i, b) in bytes.enumerated() { buffer[i] = b }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a vault lives: `$KEYWARDEN_HOME/vault.db`, else
/// `$XDG_DATA_HOME/keywarden/vault.db`, else `~/.local/share/keywarden/vault.db`.
public struct VaultLocation: Sendable, Equatable {
    /// The vault's folder (mode 0700).
    public let directory: String

    public init(directory: String) {
        self.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    }

    /// The SQLite file.
    public var databasePath: String { directory + "/vault.db" }

    /// Resolves the default location from the environment.
    public static func resolve(environment: [String: String]) throws(KeywardenError) -> VaultLocation {
        if let home = environment["KEYWARDEN_HOME"], !home.isEmpty {
            return VaultLocation(directory: home)
        }
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            return VaultLocation(directory: data + "/keywarden")
        }
        guard let home = environment["HOME"], home.hasPrefix("/") else {
            throw KeywardenError(.invalidInput, "cannot find the vault folder: set KEYWARDEN_HOME (or HOME)")
        }
        return VaultLocation(directory: home + "/.local/share/keywarden")
    }

    /// Whether a vault file exists here.
    public var exists: Bool { access(databasePath, F_OK) == 0 }

    /// Checks the vault's folder before the file in it is trusted, as ssh
    /// checks `~/.ssh`: whoever can write the folder can swap `vault.db` (an
    /// older copy, someone else's vault) or its `-wal`. A folder of another
    /// user, or one that others can write, is refused; one that others can
    /// only read or list is tightened to 0700, since nothing could have been
    /// changed through it. Root may open any folder.
    public func checkFolder() throws(KeywardenError) {
        var info = stat()
        guard stat(directory, &info) == 0 else { return }  // no folder: no vault, reported by the caller
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw KeywardenError(.invalidInput, "the vault folder \(directory) is not a folder")
        }
        let uid = getuid()
        if info.st_uid != uid && uid != 0 {
            throw KeywardenError(.invalidInput, "the vault folder \(directory) belongs to uid \(info.st_uid), not to you (uid \(uid)); refusing to use a vault someone else can replace")
        }
        if info.st_mode & 0o022 != 0 {
            throw KeywardenError(.invalidInput, "the vault folder \(directory) is writable by other users (mode \(SecureFiles.octal(info.st_mode & 0o777))), so its vault.db may have been replaced; run `chmod 700 \(directory)`, check the files in it, then try again")
        }
        if info.st_mode & 0o077 != 0, info.st_uid == uid {
            guard chmod(directory, 0o700) == 0 else { throw SecureFiles.posixError("cannot set mode 0700 on \(directory)") }
        }
    }
}

/// File-system operations with explicit modes. Secrets never depend on the
/// process umask: files are created with `O_EXCL` and mode 0600, folders 0700,
/// and then `fchmod`/`chmod`-ed to exactly that, so even `umask 000` leaves no
/// moment at which another user could open them.
public enum SecureFiles {
    /// Creates `path` (and missing parents) as 0700 folders; refuses an existing
    /// folder that other users can read or write.
    public static func ensurePrivateDirectory(_ path: String) throws(KeywardenError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw KeywardenError(.invalidInput, "\(path) exists and is not a folder")
            }
            if info.st_mode & 0o077 != 0 {
                if info.st_uid == getuid() {
                    // Our own folder with loose bits (e.g. created by hand): tighten it
                    // rather than refuse, as ssh does for ~/.ssh.
                    guard chmod(path, 0o700) == 0 else { throw posixError("cannot set mode 0700 on \(path)") }
                } else {
                    throw KeywardenError(.invalidInput, "\(path) belongs to another user and is open to others (mode \(octal(info.st_mode & 0o777))); choose another folder")
                }
            }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path, !parent.isEmpty, access(parent, F_OK) != 0 {
            // Parents such as ~/.local/share are ordinary folders; only the
            // vault's own folder must be private.
            try ensureDirectory(parent, mode: 0o755)
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw posixError("cannot create folder \(path)") }
        guard chmod(path, 0o700) == 0 else { throw posixError("cannot set mode 0700 on \(path)") }
    }

    private static func ensureDirectory(_ path: String, mode: mode_t) throws(KeywardenError) {
        if access(path, F_OK) == 0 { return }
        let parent = parentDirectory(of: path)
        if parent != path, !parent.isEmpty { try ensureDirectory(parent, mode: mode) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else { throw posixError("cannot create folder \(path)") }
    }

    /// Creates a new, empty file with mode 0600; fails if it exists.
    public static func createPrivateFile(_ path: String) throws(KeywardenError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw KeywardenError(.conflict, "\(path) already exists; nothing was changed") }
            throw posixError("cannot create \(path)")
        }
        guard fchmod(fd, 0o600) == 0 else {
            close(fd)
            throw posixError("cannot set mode 0600 on \(path)")
        }
        return fd
    }

    /// Writes `bytes` to a new 0600 file, fsyncs it, and fails if it exists.
    public static func writeNewPrivateFile(_ path: String, bytes: UnsafeRawBufferPointer) throws(KeywardenError) {
        let fd = try createPrivateFile(path)
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let error = posixError("cannot write \(path)")
                unlink(path)
                throw error
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            let error = posixError("cannot fsync \(path)")
            unlink(path)
            throw error
        }
    }

    /// The folder part of a path (`/a/b` → `/a`).
    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The permission bits of a file, or nil when it does not exist.
    public static func mode(of path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    static func octal(_ mode: mode_t) -> String { "0" + String(mode, radix: 8) }

    public static func posixError(_ what: String) -> KeywardenError {
        KeywardenError(.failed, "\(what): \(String(cString: strerror(errno)))")
    }
}

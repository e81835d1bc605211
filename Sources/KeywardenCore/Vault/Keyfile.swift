#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenCrypto

/// A keyfile: exactly 32 random bytes in a file only its owner can read.
public enum Keyfile {
    /// Creates a new keyfile (mode 0600, never overwriting) and returns its key.
    /// Missing folders on the way (`~/.config/keywarden` on a fresh home) are
    /// created 0700; existing ones are left as they are.
    public static func create(at path: String) throws(KeywardenError) -> SymmetricKey {
        try createMissingFolders(above: path)
        let key = SymmetricKey.random()
        do {
            try key.withUnsafeBytes { bytes in try SecureFiles.writeNewPrivateFile(path, bytes: bytes) }
        } catch let error as KeywardenError {
            if error.kind == .conflict {
                throw KeywardenError(.conflict, "keyfile \(path) already exists; choose another path or remove it first. Nothing was changed")
            }
            throw error
        } catch {
            throw KeywardenError(.failed, "cannot write keyfile \(path)")
        }
        return key
    }

    /// Creates the folders of `path` that do not exist yet, outermost first, each
    /// 0700 whatever the umask: they hold a key, so nobody else needs to list them.
    /// Existing folders are not touched (a keyfile in `$HOME` must not chmod `$HOME`).
    static func createMissingFolders(above path: String) throws(KeywardenError) {
        var missing: [String] = []
        var folder = SecureFiles.parentDirectory(of: path)
        while folder != "/", folder != ".", !folder.isEmpty, access(folder, F_OK) != 0 {
            missing.append(folder)
            folder = SecureFiles.parentDirectory(of: folder)
        }
        for folder in missing.reversed() {
            if mkdir(folder, 0o700) != 0 {
                if errno == EEXIST { continue }  // made meanwhile by someone else: theirs to keep
                throw SecureFiles.posixError("cannot create folder \(folder) for keyfile \(path)")
            }
            guard chmod(folder, 0o700) == 0 else { throw SecureFiles.posixError("cannot set mode 0700 on \(folder)") }
        }
    }

    /// Reads a keyfile, refusing one that others can read or that has the wrong size.
    /// The checks are made with `fstat` on the opened descriptor, so they are
    /// about the file that is read, not one swapped in after a `stat`.
    public static func read(at path: String) throws(KeywardenError) -> SymmetricKey {
        // O_NONBLOCK: a FIFO planted at the path must not hang the open; it is
        // refused below as not a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            if errno == ENOENT { throw KeywardenError.wrongCredentials("keyfile \(path) does not exist (\(String(cString: strerror(errno))))") }
            throw KeywardenError.wrongCredentials("cannot read keyfile \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw KeywardenError.wrongCredentials("cannot read keyfile \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw KeywardenError.wrongCredentials("keyfile \(path) is not a regular file")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw KeywardenError.wrongCredentials("keyfile \(path) is readable by other users (mode \(SecureFiles.octal(info.st_mode & 0o777))); refusing to use it. Run `chmod 600 \(path)`, and treat the key as exposed: add a new keyfile slot and remove the old one")
        }
        guard info.st_size == SymmetricKey.byteCount else {
            throw KeywardenError.wrongCredentials("\(path) is not a Keywarden keyfile (expected \(SymmetricKey.byteCount) bytes, found \(info.st_size))")
        }
        var ok = false
        let bytes = SecureBytes(count: SymmetricKey.byteCount) { buffer in
            ok = Glibc.read(fd, buffer.baseAddress!, buffer.count) == buffer.count
        }
        guard ok, let key = try? SymmetricKey(bytes) else {
            throw KeywardenError.wrongCredentials("cannot read keyfile \(path)")
        }
        return key
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SecureFiles {
    /// Replaces `path` with `bytes` atomically: a 0600 temporary file in the
    /// same folder (`mkstemp`, so the umask never widens it), written, fsynced,
    /// renamed over the target, and the folder fsynced. Readers see the old
    /// file or the new one, never a partial one; on any failure the temporary
    /// file is removed and the target is untouched.
    public static func writeAtomically(_ path: String, bytes: [UInt8]) throws(KeywardenError) {
        let directory = parentDirectory(of: path)
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw KeywardenError(.invalidInput, "\(path) is a folder; give a file name")
        }
        guard access(directory, W_OK) == 0 else {
            throw posixError("cannot write to folder \(directory)")
        }
        let base = path.split(separator: "/").last.map(String.init) ?? "output"
        var template = Array("\(directory)/.\(base).keywarden-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw posixError("cannot create a temporary file in \(directory)") }
        let temporary = String(cString: template)
        func fail(_ what: String) -> KeywardenError {
            let error = posixError(what)
            close(fd)
            unlink(temporary)
            return error
        }
        guard fchmod(fd, 0o600) == 0 else { throw fail("cannot set mode 0600 on \(temporary)") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("cannot write \(temporary)")
            }
            offset += n
        }
        guard fsync(fd) == 0 else { throw fail("cannot fsync \(temporary)") }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = posixError("cannot replace \(path)")
            unlink(temporary)
            throw error
        }
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }
}

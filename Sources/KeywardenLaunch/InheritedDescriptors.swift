#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file descriptors a process had when it started, so that a program it
/// execs gets those and nothing it opened itself: `run`'s command must not
/// inherit the connection to the agent (an open line to the vault) or the
/// event loop's descriptors, while a descriptor the caller passed on purpose
/// (`keywarden run -- cmd 3<file`) stays open.
public struct InheritedDescriptors: Sendable {
    public let descriptors: Set<Int32>

    /// The descriptors open now; take this before opening anything.
    public static func current() -> InheritedDescriptors {
        InheritedDescriptors(descriptors: openDescriptors())
    }

    /// Marks every descriptor opened since ``current()`` close-on-exec.
    public func closeOthersOnExec() {
        for fd in Self.openDescriptors() where fd > 2 && !descriptors.contains(fd) {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// The descriptors open in this process (Linux: `/proc/self/fd`).
    public static func openDescriptors() -> Set<Int32> {
        guard let directory = opendir("/proc/self/fd") else { return [] }
        defer { closedir(directory) }
        // The directory's own descriptor is not one to keep.
        let own = dirfd(directory)
        var descriptors: Set<Int32> = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd != own { descriptors.insert(fd) }
        }
        return descriptors
    }
}

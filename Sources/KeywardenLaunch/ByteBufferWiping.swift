#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

extension ByteBuffer {
    /// Overwrites the readable bytes with zeros in place. Through the
    /// read-only view on purpose: the mutable one would copy a shared storage
    /// first (copy-on-write) and wipe only the new copy, leaving the original.
    public func wipeReadableBytes() {
        withUnsafeReadableBytes { raw in
            if let base = raw.baseAddress { memset(UnsafeMutableRawPointer(mutating: base), 0, raw.count) }
        }
    }
}

import CSodium

/// Secret bytes in memory from `sodium_malloc`: guard pages around it, locked
/// out of swap and core dumps where the OS allows, and wiped by `sodium_free`
/// when the last reference goes away. Immutable once filled, so sharing it
/// between tasks is safe.
public final class SecureBytes: @unchecked Sendable {
    private let pointer: UnsafeMutableRawPointer?
    /// The arena whose region holds the bytes; nil: their own `sodium_malloc`.
    private let arena: SecureArena?
    /// Number of bytes held.
    public let count: Int

    /// Allocates `count` bytes and lets `fill` write them. The buffer is wiped
    /// and released if `fill` throws. With an `arena` that has room, the
    /// bytes go there (wiped when this value goes, the region with the last
    /// value of its batch); otherwise into their own `sodium_malloc`.
    public init<E: Error>(count: Int, in arena: SecureArena? = nil, fill: (UnsafeMutableRawBufferPointer) throws(E) -> Void) throws(E) {
        self.count = count
        if count == 0 {
            pointer = nil
            self.arena = nil
        } else if let arena, let slot = arena.allocate(count) {
            pointer = slot
            self.arena = arena
        } else {
            guard (try? Sodium.ready()) != nil, let p = sodium_malloc(count) else {
                // Allocation failure is not recoverable for a security tool.
                fatalError("sodium_malloc(\(count)) failed")
            }
            pointer = p
            self.arena = nil
        }
        try fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// Copies `bytes` into guarded memory. The caller still owns (and should
    /// wipe) its own copy.
    public convenience init(copying bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        self.init(count: array.count) { buffer in
            array.withUnsafeBytes { source in
                if let base = source.baseAddress, array.count > 0 {
                    buffer.baseAddress!.copyMemory(from: base, byteCount: array.count)
                }
            }
        }
    }

    /// `count` bytes from the system's CSPRNG.
    public static func random(count: Int) -> SecureBytes {
        SecureBytes(count: count) { buffer in
            if count > 0 { randombytes_buf(buffer.baseAddress!, count) }
        }
    }

    deinit {
        guard let pointer else { return }
        if arena != nil {
            sodium_memzero(pointer, count)
        } else {
            sodium_free(pointer)
        }
    }

    /// Reads the bytes without copying them out of guarded memory.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Constant-time equality (`sodium_memcmp`); the length is not secret.
    public func constantTimeEquals(_ other: SecureBytes) -> Bool {
        guard count == other.count else { return false }
        if count == 0 { return true }
        return withUnsafeBytes { a in
            other.withUnsafeBytes { b in
                sodium_memcmp(a.baseAddress!, b.baseAddress!, count) == 0
            }
        }
    }

    /// Whether the bytes are valid UTF-8 (no decoding into a `String` happens).
    public var isValidUTF8: Bool {
        withUnsafeBytes { raw in
            var iterator = raw.bindMemory(to: UInt8.self).makeIterator()
            var decoder = UTF8()
            while true {
                switch decoder.decode(&iterator) {
                case .scalarValue: continue
                case .emptyInput: return true
                case .error: return false
                }
            }
        }
    }

    /// A short-lived copy as an array, for code that must hand the value to an
    /// API taking ordinary memory (an encoder, a process environment). Callers
    /// wipe it with `wipe(_:)` when done.
    public func copyBytes() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }
}

/// Overwrites an ordinary buffer that held secret bytes (`sodium_memzero`
/// cannot be optimised away, unlike a loop that writes zeros).
public func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
        if let base = buffer.baseAddress, buffer.count > 0 { sodium_memzero(base, buffer.count) }
    }
    bytes.removeAll()
}

/// Constant-time comparison of two ordinary byte arrays (tokens, hashes).
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { x in b.withUnsafeBytes { y in sodium_memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }
}

/// Overwrites memory outside `SecureBytes` that held secret bytes, such as a
/// network buffer once it has been written to the socket.
public func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
    if let base = buffer.baseAddress, buffer.count > 0 { sodium_memzero(base, buffer.count) }
}

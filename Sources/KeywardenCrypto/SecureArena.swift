#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSodium

/// One guarded region for the secrets of one batch — the keys one
/// `validate` run decrypts together — instead of a `sodium_malloc` each.
///
/// `sodium_malloc` gives every value its own mapping: an `mmap`, two
/// `mprotect`s for its guard pages, an `mlock`, and as many calls again to
/// free it. In a process whose other threads are busy (the probes' event
/// loops), every `mprotect` and `munmap` also interrupts the other cores to
/// flush their TLBs. For 1,000 keys that was 12,000 system calls and a
/// third of `validate`'s time (scripts/bench-validate.sh, strace -c).
///
/// An arena keeps the protections that matter for a batch: its pages are
/// anonymous, between two `PROT_NONE` guard pages, locked out of swap where
/// the limit allows (best effort, as `sodium_malloc`'s), left out of core
/// dumps (`MADV_DONTDUMP`), and every value is wiped as soon as its last
/// reference goes (``SecureBytes``), the whole region again before it is
/// unmapped. What it gives up is a guard page after each value: values of one
/// batch lie next to each other, so a read past the end of one (which
/// bounds-checked buffers prevent) would reach another of the same batch.
///
/// Each value keeps the arena alive, so the region goes when the last value
/// of the batch does.
public final class SecureArena: @unchecked Sendable {  // `used` changes under `lock` only
    private let base: UnsafeMutableRawPointer
    /// Usable bytes, between the guard pages.
    public let capacity: Int
    private var used = 0
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Values start at multiples of this (as `malloc`'s do).
    static let alignment = 16

    /// A region for values of `counts` bytes each.
    public convenience init(for counts: some Sequence<Int>) {
        self.init(capacity: counts.reduce(0) { $0 + Self.rounded($1) })
    }

    public init(capacity requested: Int) {
        let capacity = max(1, (requested + Self.pageSize - 1) / Self.pageSize) * Self.pageSize
        let total = capacity + 2 * Self.pageSize
        #if canImport(Glibc)
        let flags = MAP_PRIVATE | MAP_ANONYMOUS
        #else
        let flags = MAP_PRIVATE | MAP_ANON
        #endif
        guard let start = mmap(nil, total, PROT_NONE, flags, -1, 0), start != MAP_FAILED,
              mprotect(start + Self.pageSize, capacity, PROT_READ | PROT_WRITE) == 0
        else {
            // As for `sodium_malloc`: no memory for secrets is not recoverable.
            fatalError("cannot map \(total) bytes of guarded memory")
        }
        base = start + Self.pageSize
        self.capacity = capacity
        pthread_mutex_init(lock, nil)
        _ = mlock(base, capacity)
        #if canImport(Glibc)
        _ = madvise(base, capacity, MADV_DONTDUMP)
        #endif
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
        sodium_memzero(base, capacity)
        _ = munlock(base, capacity)
        munmap(base - Self.pageSize, capacity + 2 * Self.pageSize)
    }

    /// `count` bytes of the region, or nil when it is full: for callers that
    /// keep raw bytes there (the agent's cache of answers, ``SecureBytes``).
    /// They are wiped when the arena goes.
    public func allocate(_ count: Int) -> UnsafeMutableRawPointer? {
        let size = Self.rounded(count)
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        guard size <= capacity - used else { return nil }
        defer { used += size }
        return base + used
    }

    /// Bytes handed out so far (for tests).
    public var bytesUsed: Int {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return used
    }

    private static func rounded(_ count: Int) -> Int {
        max(alignment, (count + alignment - 1) / alignment * alignment)
    }
}

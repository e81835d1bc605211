#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for the secrets the agent keeps between requests (its cache of
/// answers holding active keys), packed together in a few guarded slabs.
///
/// `sodium_malloc`, which `Secret` uses, gives every value its own pages: two
/// resident pages (8 KiB) and three kernel mappings, however small the value.
/// For the values a command holds for a moment that is right; for a cache of
/// 10,000 keys it is 80 MiB of memory and 30,000 of the kernel's default
/// 65,530 mappings (past ~21,000 values every allocation fails). A slab gives
/// the same protections to many values at once: anonymous pages with a
/// `PROT_NONE` guard page on each side, locked out of swap where the limit
/// allows (`mlock`, best effort like `sodium_malloc`'s), left out of core
/// dumps (`MADV_DONTDUMP`; the agent disables them too), and wiped
/// (`explicit_bzero`) before they are reused or unmapped.
///
/// Values are appended and all dropped at once (`removeAll`): the cache empties
/// itself whenever the vault changes. Not thread-safe: its owner holds a lock.
final class GuardedArena: @unchecked Sendable {  // used under its owner's lock only
    /// Where one value lies.
    struct Slot: Sendable {
        fileprivate let slab: Int
        fileprivate let offset: Int
        let count: Int
    }

    private struct Slab {
        /// The usable pages, between the two guard pages.
        let base: UnsafeMutableRawPointer
        let capacity: Int
        var used = 0
    }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Most answers are a few hundred bytes: a 256 KiB slab holds ~700.
    static let slabSize = 256 * 1024

    private var slabs: [Slab] = []

    /// Bytes in use, for tests.
    var bytesUsed: Int { slabs.reduce(0) { $0 + $1.used } }

    /// Copies `bytes` in; the slot reads them back until `removeAll`.
    func store(_ bytes: UnsafeRawBufferPointer) -> Slot {
        let count = bytes.count
        if slabs.isEmpty || slabs[slabs.count - 1].capacity - slabs[slabs.count - 1].used < count {
            slabs.append(Self.map(capacity: max(Self.slabSize, count)))
        }
        let index = slabs.count - 1
        let offset = slabs[index].used
        if count > 0 { (slabs[index].base + offset).copyMemory(from: bytes.baseAddress!, byteCount: count) }
        slabs[index].used += count
        return Slot(slab: index, offset: offset, count: count)
    }

    /// The bytes of `slot`, valid only inside `body`.
    func withBytes<R>(_ slot: Slot, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: slabs[slot.slab].base + slot.offset, count: slot.count))
    }

    /// Wipes every value; keeps the first slab for reuse and unmaps the others.
    func removeAll() {
        for index in slabs.indices.reversed() {
            explicit_bzero(slabs[index].base, slabs[index].used)
            slabs[index].used = 0
            if index > 0 { Self.unmap(slabs.removeLast()) }
        }
    }

    deinit {
        for slab in slabs {
            explicit_bzero(slab.base, slab.used)
            Self.unmap(slab)
        }
    }

    private static func map(capacity requested: Int) -> Slab {
        let capacity = (requested + pageSize - 1) / pageSize * pageSize
        let total = capacity + 2 * pageSize
        #if canImport(Glibc)
        let flags = MAP_PRIVATE | MAP_ANONYMOUS
        #else
        let flags = MAP_PRIVATE | MAP_ANON
        #endif
        guard let start = mmap(nil, total, PROT_NONE, flags, -1, 0), start != MAP_FAILED else {
            // As for `sodium_malloc`: no memory for secrets is not recoverable.
            fatalError("cannot map \(total) bytes for the agent's cache")
        }
        let base = start + pageSize
        guard mprotect(base, capacity, PROT_READ | PROT_WRITE) == 0 else { fatalError("cannot protect the agent's cache memory") }
        _ = mlock(base, capacity)
        #if canImport(Glibc)
        _ = madvise(base, capacity, MADV_DONTDUMP)
        #endif
        return Slab(base: base, capacity: capacity)
    }

    private static func unmap(_ slab: Slab) {
        _ = munlock(slab.base, slab.capacity)
        munmap(slab.base - pageSize, slab.capacity + 2 * pageSize)
    }
}

import KeywardenCrypto

/// Memory for the secrets the agent keeps between requests (its cache of
/// answers holding active keys), packed together in a few guarded slabs.
///
/// `sodium_malloc`, which `Secret` uses, gives every value its own pages: two
/// resident pages (8 KiB) and three kernel mappings, however small the value.
/// For the values a command holds for a moment that is right; for a cache of
/// 10,000 keys it is 80 MiB of memory and 30,000 of the kernel's default
/// 65,530 mappings (past ~21,000 values every allocation fails). Each slab is
/// a ``SecureArena``: anonymous pages between two `PROT_NONE` guard pages,
/// locked out of swap where the limit allows, left out of core dumps, and
/// wiped before they are unmapped.
///
/// Values are appended and all dropped at once (`removeAll`): the cache empties
/// itself whenever the vault changes. Not thread-safe: its owner holds a lock.
final class GuardedArena: @unchecked Sendable {  // used under its owner's lock only
    /// Where one value lies (valid until `removeAll`).
    struct Slot: Sendable {
        fileprivate let address: UInt
        let count: Int
    }

    /// Most answers are a few hundred bytes: a 256 KiB slab holds ~700.
    static let slabSize = 256 * 1024

    private var slabs: [SecureArena] = []

    /// Bytes in use.
    var bytesUsed: Int { slabs.reduce(0) { $0 + $1.bytesUsed } }

    /// Copies `bytes` in; the slot reads them back until `removeAll`.
    func store(_ bytes: UnsafeRawBufferPointer) -> Slot {
        let count = bytes.count
        let start: UnsafeMutableRawPointer
        if let room = slabs.last?.allocate(count) {
            start = room
        } else {
            let slab = SecureArena(capacity: max(Self.slabSize, count))
            slabs.append(slab)
            start = slab.allocate(count)!  // a fresh slab of at least `count` bytes
        }
        if count > 0 { start.copyMemory(from: bytes.baseAddress!, byteCount: count) }
        return Slot(address: UInt(bitPattern: start), count: count)
    }

    /// The bytes of `slot`, valid only inside `body`.
    func withBytes<R>(_ slot: Slot, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: slot.address), count: slot.count))
    }

    /// Wipes and unmaps every slab (each arena wipes its pages as it goes).
    func removeAll() {
        slabs.removeAll()
    }
}

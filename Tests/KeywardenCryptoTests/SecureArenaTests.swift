#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import KeywardenCrypto

@Suite("Guarded memory for a batch of secrets")
struct SecureArenaTests {
    let key = SymmetricKey.random()
    let ad: [UInt8] = Array("row k_1 anthropic prod".utf8)

    @Test("values opened into an arena read back, and each is wiped as soon as it goes, while the others stay")
    func wipedOnRelease() throws {
        let plain = (0..<5).map { Array("sk-test-\($0)-\(String(repeating: "x", count: $0 * 7))".utf8) }
        let boxes = try plain.map { try AEAD.seal(SecureBytes(copying: $0), key: key, associatedData: ad) }
        let arena = SecureArena(for: boxes.map { $0.ciphertext.count - AEAD.tagByteCount })
        var values: [SecureBytes?] = try boxes.map { try AEAD.open($0, key: key, associatedData: ad, into: arena) }
        #expect(arena.bytesUsed > 0 && arena.bytesUsed <= arena.capacity)
        for (value, expected) in zip(values, plain) { #expect(value!.copyBytes() == expected) }
        // Where the second value lies, read through the arena's own pages after it goes.
        let where2 = values[1]!.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) }
        values[1] = nil
        #expect(Array(UnsafeRawBufferPointer(start: where2, count: plain[1].count)).allSatisfy { $0 == 0 }, "wiped when its value went")
        #expect(values[0]!.copyBytes() == plain[0] && values[2]!.copyBytes() == plain[2], "its neighbours are untouched")
        _ = arena
    }

    @Test("a value that does not fit gets its own sodium_malloc; an empty value needs no room")
    func fullArena() throws {
        let arena = SecureArena(capacity: 16)
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        #expect(arena.capacity == pageSize, "rounded up to whole pages")
        let big = SecureBytes(count: pageSize + 1, in: arena) { $0.initializeMemory(as: UInt8.self, repeating: 7) }
        #expect(arena.bytesUsed == 0 && big.copyBytes().allSatisfy { $0 == 7 })
        let empty = SecureBytes(count: 0, in: arena) { _ in }
        #expect(empty.count == 0 && arena.bytesUsed == 0)
        let small = SecureBytes(count: 3, in: arena) { $0.copyBytes(from: [1, 2, 3]) }
        #expect(small.copyBytes() == [1, 2, 3] && arena.bytesUsed == 16, "values start 16-byte aligned")
    }

    @Test("an arena's pages are locked, left out of core dumps, and fenced by inaccessible pages")
    func protections() throws {
        let arena = SecureArena(capacity: 100)
        let value = SecureBytes(count: 10, in: arena) { $0.initializeMemory(as: UInt8.self, repeating: 1) }
        let address = value.withUnsafeBytes { UInt(bitPattern: $0.baseAddress!) }
        // /proc/self/smaps names the mapping's flags: lo (locked, when the limit allows), dd (don't dump).
        let smaps = Self.procFile("/proc/self/smaps")
        var inMapping = false, flags = "", before = ""
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if let range = fields.first, range.contains("-"), fields.count >= 5, let dash = range.firstIndex(of: "-") {
                let low = UInt(range[..<dash], radix: 16) ?? 0, high = UInt(range[range.index(after: dash)...], radix: 16) ?? 0
                if inMapping { break }
                inMapping = low <= address && address < high
                if !inMapping { before = String(fields[1]) }
                continue
            }
            if inMapping, line.hasPrefix("VmFlags:") { flags = String(line) }
        }
        #expect(flags.contains(" dd"), "MADV_DONTDUMP: \(flags)")
        #expect(before == "---p", "the page before the region is a PROT_NONE guard page")
    }

    /// A /proc file whole (their size reads as 0, so read until the end).
    static func procFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

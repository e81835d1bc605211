#if canImport(Glibc)
import CPeerCredentials
import Glibc

/// Gives back the pages of the agent's own machine code that only its start
/// used, once it serves: `madvise(MADV_DONTNEED)` over the executable's text
/// segment. Code the agent runs afterwards is mapped again from the kernel's
/// page cache on first use (a minor fault, no disk read while the file is
/// cached).
///
/// Why: the agent is one 85 MB binary with the whole command line in it, and
/// starting (argument parsing, opening and migrating the vault, the first
/// conformance lookups of every library) touches code all over its 36 MB of
/// text. On ext4 with large folios, each first touch maps up to 200 KiB of
/// neighbouring cached code (fault-around), so 21 MiB of text stayed mapped,
/// half of the agent's resident memory, most of it never run again. Measured
/// with `scripts/bench/memory-keys.py` (issue 12; docs/benchmarks.md).
///
/// Only text segments (`PF_X`, not writable) and only whole pages inside
/// each. Private file pages that were written would lose what was written:
/// the data segment the loader relocated is never touched, a binary with
/// text relocations is left alone, and so is a segment with written
/// (anonymous) pages in it, such as a debugger's breakpoint or a uprobe.
public enum StartupCodePages {
    /// Returns the number of bytes given back, 0 if there was nothing to do
    /// or `madvise` refused (the agent runs on either way).
    @discardableResult
    public static func release() -> Int {
        var released = 0
        for pages in textPages() where kw_range_has_written_pages("/proc/self/smaps", pages.lowerBound, pages.upperBound) == 0 {
            guard let address = UnsafeMutableRawPointer(bitPattern: pages.lowerBound) else { continue }
            if madvise(address, pages.count, MADV_DONTNEED) == 0 { released += pages.count }
        }
        return released
    }

    /// The whole pages of each of the executable's text segments: inward
    /// from its bounds, so that a page shared with another segment is left
    /// alone. Empty for a binary with text relocations.
    static func textPages() -> [Range<UInt>] {
        var starts = [UInt](repeating: 0, count: 8), ends = [UInt](repeating: 0, count: 8)
        let count = kw_executable_text_segments(&starts, &ends, 8)
        guard count > 0 else { return [] }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        return (0..<Int(count)).compactMap { index in
            let start = (starts[index] + page - 1) / page * page
            let end = ends[index] / page * page
            return end > start ? start..<end : nil
        }
    }
}
#else
public enum StartupCodePages {
    @discardableResult
    public static func release() -> Int { 0 }
}
#endif

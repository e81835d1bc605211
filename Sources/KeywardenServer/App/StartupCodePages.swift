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
/// Only the text segment (`PF_X`, read-only, never written: the binary has no
/// text relocations) and only whole pages inside it. Private file pages that
/// were written — the data segment, which the loader relocated — would lose
/// their contents, so they are never given back.
public enum StartupCodePages {
    /// Returns the number of bytes given back, 0 if there was nothing to do
    /// or `madvise` refused (the agent runs on either way).
    @discardableResult
    public static func release() -> Int {
        guard let pages = textPages(), let address = UnsafeMutableRawPointer(bitPattern: pages.lowerBound) else { return 0 }
        return madvise(address, pages.count, MADV_DONTNEED) == 0 ? pages.count : 0
    }

    /// The whole pages of the executable's text segment: inward from its
    /// bounds, so that a page it shares with another segment is left alone.
    static func textPages() -> Range<UInt>? {
        var textStart: UInt = 0, textEnd: UInt = 0
        guard kw_executable_text(&textStart, &textEnd) == 0 else { return nil }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        let start = (textStart + page - 1) / page * page
        let end = textEnd / page * page
        return end > start ? start..<end : nil
    }
}
#else
public enum StartupCodePages {
    @discardableResult
    public static func release() -> Int { 0 }
}
#endif

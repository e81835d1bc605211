#if os(Linux)
import CPeerCredentials
import Foundation
import Testing
@testable import KeywardenServer

/// The agent gives back its start-up code's pages once it serves
/// (StartupCodePages). Giving back a page that was written — the data the
/// loader relocated, a debugger's breakpoint — would lose what was written,
/// so the ranges must lie in the executable's read-only, executable
/// mappings only, and a range with written pages is left alone.
@Suite struct StartupCodePagesTests {
    /// `/proc/self/maps` lines of this test executable.
    private func executableMappings() throws -> [(range: Range<UInt>, permissions: String)] {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        return try String(contentsOfFile: "/proc/self/maps", encoding: .utf8).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[5...].joined(separator: " ") == executable else { return nil }
            let bounds = fields[0].split(separator: "-").compactMap { UInt($0, radix: 16) }
            return (bounds[0]..<bounds[1], String(fields[1]))
        }
    }

    @Test func theRangesAreOnlyTheExecutablesCode() throws {
        let ranges = StartupCodePages.textPages()
        #expect(!ranges.isEmpty)
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        let mappings = try executableMappings()
        for pages in ranges {
            #expect(pages.lowerBound % page == 0 && pages.upperBound % page == 0)
            // Every page of the range is in an r-x mapping of this executable…
            var covered: UInt = 0
            for mapping in mappings where mapping.permissions.hasPrefix("r-x") {
                let low = max(mapping.range.lowerBound, pages.lowerBound), high = min(mapping.range.upperBound, pages.upperBound)
                if high > low { covered += high - low }
            }
            #expect(covered == UInt(pages.count), "a range to give back reaches outside the executable's code")
            // …and none in any other.
            for mapping in mappings where !mapping.permissions.hasPrefix("r-x") {
                #expect(!mapping.range.overlaps(pages), "a range to give back overlaps a \(mapping.permissions) mapping")
            }
        }
    }

    /// The loader's writes (a table of pointers it relocated) survive, and the code runs on.
    @Test func givingBackKeepsRelocatedDataAndCode() throws {
        #expect(kw_relocated_table_intact() == 1)
        #expect(StartupCodePages.release() > 0)
        #expect(kw_relocated_table_intact() == 1)
        #expect(AnswerHeads.serverName == "keywarden-agent")
    }

    /// A mapping with anonymous pages over the range (written copies of
    /// file pages) is seen, in smaps' own format; one beside it is not.
    @Test func writtenPagesInTheRangeAreSeen() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keywarden-smaps-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func smaps(anonymous: Int) -> String {
            """
            55d000000000-55d000400000 r-xp 00017000 fd:00 1234    /usr/bin/keywarden-cli
            Size:               4096 kB
            Rss:                2048 kB
            Anonymous:          \(anonymous) kB
            AnonHugePages:         0 kB
            FilePmdMapped:         0 kB
            VmFlags: rd ex mr mw me
            55d000400000-55d000500000 rw-p 00417000 fd:00 1234    /usr/bin/keywarden-cli
            Size:               1024 kB
            Anonymous:          1024 kB
            VmFlags: rd wr mr mw me ac

            """
        }
        let path = folder.appendingPathComponent("smaps").path
        try smaps(anonymous: 0).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(kw_range_has_written_pages(path, 0x55d0_0000_0000, 0x55d0_0040_0000) == 0)
        #expect(kw_range_has_written_pages(path, 0x55d0_0000_0000, 0x55d0_0040_1000) == 1, "the rw-p mapping beside it overlaps")
        try smaps(anonymous: 4).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(kw_range_has_written_pages(path, 0x55d0_0000_1000, 0x55d0_0000_2000) == 1)
        #expect(kw_range_has_written_pages(folder.appendingPathComponent("missing").path, 0, 1) == -1)
    }
}
#endif

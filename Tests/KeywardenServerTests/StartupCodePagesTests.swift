#if os(Linux)
import Foundation
import Testing
@testable import KeywardenServer

/// The agent gives back its start-up code's pages once it serves
/// (StartupCodePages). Giving back a page that was written — the data
/// segment the loader relocated — would lose it, so the range must lie in
/// the executable's read-only, executable mappings only.
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

    @Test func theRangeIsOnlyTheExecutablesCode() throws {
        let pages = try #require(StartupCodePages.textPages())
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        #expect(pages.lowerBound % page == 0 && pages.upperBound % page == 0)
        let mappings = try executableMappings()
        // Every page of the range is in an r-x mapping of this executable.
        var covered: UInt = 0
        for mapping in mappings where mapping.permissions.hasPrefix("r-x") {
            let low = max(mapping.range.lowerBound, pages.lowerBound), high = min(mapping.range.upperBound, pages.upperBound)
            if high > low { covered += high - low }
        }
        #expect(covered == UInt(pages.count), "the range to give back reaches outside the executable's code")
        for mapping in mappings where !mapping.permissions.hasPrefix("r-x") {
            #expect(!mapping.range.overlaps(pages), "the range to give back overlaps a \(mapping.permissions) mapping")
        }
    }

    /// Writable data keeps its contents, and the code runs on.
    @Test func givingBackKeepsDataAndCode() throws {
        let before = Self.relocated.map { $0() }
        #expect(StartupCodePages.release() > 0)
        #expect(Self.relocated.map { $0() } == before)
        #expect(AnswerHeads.serverName == "keywarden-agent")
    }

    /// Function pointers in a global: relocated by the loader at start.
    nonisolated(unsafe) static var relocated: [() -> Int] = [{ 1 }, { 2 }, { 3 }]
}
#endif

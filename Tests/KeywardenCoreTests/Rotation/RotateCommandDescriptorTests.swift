#if os(Linux)
import Foundation
import Glibc
import Testing
@testable import KeywardenCore

/// A rotation command (`rotate policy --command`, `--revoke-command`) gets
/// its stdin, stdout and stderr and nothing else of the process that runs
/// it: in the agent that is the vault's files, sockets, and the pipes of
/// other commands running at the same time (a command that inherited
/// another's pipe kept that one's reader waiting for an EOF).
@Suite struct RotateCommandDescriptorTests {
    @Test("a rotation command inherits no descriptor but 0, 1 and 2, even one without close-on-exec")
    func onlyTheStandardThree() async throws {
        // A descriptor this process opened without close-on-exec, as a C library might.
        let leaky = open("/dev/null", O_RDONLY)
        try #require(leaky > 2)
        defer { close(leaky) }
        var pipeEnds: [Int32] = [0, 0]
        try #require(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        // `ls` lists the descriptors of the shell that runs the command ($$).
        let outcome = try await RotateCommand.spawn("ls /proc/$$/fd", environment: [:], stdin: [], timeout: 10)
        #expect(outcome.status == 0)
        let descriptors = Set(String(decoding: outcome.stdout, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { Int32($0) })
        #expect(descriptors.isSubset(of: [0, 1, 2, 3]), "inherited: \(descriptors.sorted())")  // 3: ls's own directory, at most
        for fd in [leaky] + pipeEnds { #expect(!descriptors.contains(fd) || fd <= 3, "descriptor \(fd) reached the command") }
    }
}
#endif

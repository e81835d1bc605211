@testable import KeywardenServer
import Testing

@Suite("Freed memory handed back after large answers")
struct FreedMemoryTests {
    @Test("one trim a second after a burst of large answers; small answers trim nothing")
    func oneTrimPerBurst() async throws {
        let memory = FreedMemory()
        memory.answered(values: 5)
        memory.answered(values: FreedMemory.largeAnswer)
        memory.answered(values: 10_000)
        #expect(memory.trimCount == 0, "not at once: a trim walks every heap")
        for _ in 0..<100 where memory.trimCount == 0 { try await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(memory.trimCount == 1, "one trim for the burst")
        memory.answered(values: 10_000)
        for _ in 0..<100 where memory.trimCount == 1 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(memory.trimCount == 2, "a later burst gets its own")
    }
}

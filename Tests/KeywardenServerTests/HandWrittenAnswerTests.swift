import Foundation
import KeywardenCore
@testable import KeywardenServer
import Testing

@Suite("Agent answers written by hand")
struct HandWrittenAnswerTests {
    @Test("delivery.environment's answer is exactly what JSONEncoder gives: names, base64 of any bytes, empty values")
    func environmentJSON() throws {
        let values: [[UInt8]] = [Array(TestKeys.anthropic.utf8), [], [0], [0xff, 0xfe], [1, 2, 3], Array("line\n\"q\"/é".utf8), Array(repeating: 0x41, count: 1000)]
        let variables = values.enumerated().map { EnvironmentVariable(name: "VAR_\($0.offset)", value: Secrets.secret(copying: $0.element)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(String(buffer: EnvironmentAnswer.json(variables)) == String(decoding: try encoder.encode(variables), as: UTF8.self))
        #expect(String(buffer: EnvironmentAnswer.json([])) == "[]")
        let decoded = try JSONDecoder().decode([EnvironmentVariable].self, from: Data(EnvironmentAnswer.json(variables).readableBytesView))
        #expect(decoded.map { $0.value.copyBytes() } == values)
    }
}

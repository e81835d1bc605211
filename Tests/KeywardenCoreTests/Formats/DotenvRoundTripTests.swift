import Foundation
import Testing

@testable import KeywardenCore

/// A deterministic generator, so a failing case can be reproduced.
struct FormatsSeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random values built from the characters the dotenv rules turn on.
enum TrickyValues {
    static let pieces: [[UInt8]] = [
        "'", "\"", "\\", "$", "{", "}", ":", "-", "#", " ", "\t", "\n", "\r", "=", "`", "a", "Z", "0", "é",
        "🔑", "\u{2028}", "\u{A0}", "export ", "${A}", "\\n",
    ].map { Array($0.utf8) }

    static func make(count: Int, seed: UInt64) -> [[UInt8]] {
        var generator = FormatsSeededGenerator(state: seed)
        return (0..<count).map { _ in
            let length = Int.random(in: 0...8, using: &generator)
            return (0..<length).flatMap { _ in pieces.randomElement(using: &generator)! }
        }
    }
}

@Suite("dotenv encoder → parser round trip")
struct DotenvRoundTripTests {
    func roundTrip(_ values: [[UInt8]], as format: ExportFormat = .dotenv) throws -> Int {
        var accepted = 0
        for value in values {
            guard let file = try? EnvironmentEncoder.encode(Sandwich.variables(value), as: format) else { continue }
            accepted += 1
            let entries = try DotenvParser.parse(file, file: "roundtrip.env")
            #expect(entries.map(\.name) == [Sandwich.before.name, Sandwich.name, Sandwich.after.name])
            #expect(entries.map(\.value) == [Sandwich.before.value, value, Sandwich.after.value], "value \(formatsHex(value))")
        }
        return accepted
    }

    @Test("every accepted hostile value parses back exactly", arguments: [ExportFormat.dotenv, .dotenvMultiline])
    func hostileValues(format: ExportFormat) throws {
        let accepted = try roundTrip(Hostile.values.map(\.bytes), as: format)
        #expect(accepted == Hostile.values.filter { $0.accepted(by: format) }.count)
    }

    @Test("5,000 random tricky values parse back exactly when accepted")
    func randomValues() throws {
        let accepted = try roundTrip(TrickyValues.make(count: 5000, seed: 0x6B77_2D66_6D74))
        // The rules must not be so strict that most values are refused.
        #expect(accepted > 2000)
    }

    @Test(
        "600 random accepted values also read back in python-dotenv",
        .enabled(if: RealReaders.hasPythonDotenv, "python-dotenv is not installed"))
    func randomValuesInPythonDotenv() throws {
        var accepted: [[UInt8]] = []
        for value in TrickyValues.make(count: 1500, seed: 0x5EED) where accepted.count < 600 {
            if (try? EnvironmentEncoder.encode([("K", value)], as: .dotenv)) != nil { accepted.append(value) }
        }
        // All values in one file, so a value that spills into its neighbour shows.
        let variables = accepted.enumerated().map { (name: "V\($0.offset)", value: $0.element) }
        let file = try EnvironmentEncoder.encode(variables, as: .dotenv)
        try withFormatsTemporaryDirectory { directory in
            let url = try writeFormatsFile(file, named: "random.env", in: directory)
            for interpolate in [true, false] {
                let read = try PythonDotenv.read([url], interpolate: interpolate, in: directory)[url.path] ?? [:]
                #expect(read.count == variables.count)
                for variable in variables {
                    #expect(read[variable.name] == formatsHex(variable.value), "python-dotenv read \(formatsHex(variable.value)) differently")
                }
            }
        }
    }

    @Test("the parser reads what shells read from the shell format's plain cases")
    func parserAcceptsExportLines() throws {
        // `export NAME='v'` without a quote inside is valid dotenv too.
        let file = try EnvironmentEncoder.encode([("A", Array("x y".utf8))], as: .shell)
        #expect(try DotenvParser.parse(file, file: "s").map(\.value) == [Array("x y".utf8)])
    }
}

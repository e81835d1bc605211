import Foundation
import Testing

@testable import KeywardenCore

/// Every hostile value, in every format, read back by the real reader.
@Suite("Exported files read back byte for byte in their real readers")
struct EncoderRealReaderTests {
    /// Encodes the sandwich around each value; accepted files go to `accept`,
    /// refusals are checked to name the variable and the format.
    func encodeAll(
        _ format: ExportFormat, mustAccept: (HostileValue) -> Bool,
        accept: (HostileValue, [UInt8]) throws -> Void
    ) throws {
        for value in Hostile.values {
            let file: [UInt8]
            do {
                file = try EnvironmentEncoder.encode(Sandwich.variables(value.bytes), as: format)
            } catch {
                #expect(!mustAccept(value), "\(format) refused \(value.label): \(error)")
                expectNamedRefusal(error, name: Sandwich.name, format: format, value: value.bytes)
                continue
            }
            #expect(mustAccept(value), "\(format) accepted \(value.label), which it must refuse")
            try accept(value, file)
        }
    }

    @Test(
        "dotenv reads back in python-dotenv, interpolation on and off",
        .enabled(if: RealReaders.hasPythonDotenv, "python-dotenv is not installed"),
        arguments: [true, false], [ExportFormat.dotenv, .dotenvMultiline])
    func dotenvInPythonDotenv(interpolate: Bool, format: ExportFormat) throws {
        try withFormatsTemporaryDirectory { directory in
            var files: [(URL, HostileValue)] = []
            try encodeAll(format, mustAccept: { $0.accepted(by: format) }) { value, file in
                let url = try writeFormatsFile(file, named: "value\(files.count).env", in: directory)
                files.append((url, value))
            }
            let read = try PythonDotenv.read(files.map(\.0), interpolate: interpolate, in: directory)
            for (url, value) in files {
                let expected = Sandwich.expected(value.bytes).mapValues { Optional($0) }
                #expect(read[url.path] == expected, "python-dotenv read \(value.label) differently")
            }
        }
        #expect(!Hostile.markerExists, "a reader ran a command from a value")
    }

    @Test(
        "dotenv runs nothing when bash or dash sources it with set -a; . ./.env",
        arguments: ["bash", "dash"], [ExportFormat.dotenv, .dotenvMultiline])
    func dotenvSourcedByShells(shell: String, format: ExportFormat) throws {
        try #require(RealReaders.locate(shell) != nil, "\(shell) is not installed")
        try withFormatsTemporaryDirectory { directory in
            try encodeAll(format, mustAccept: { $0.accepted(by: format) }) { value, file in
                try writeFormatsFile(file, named: ".env", in: directory)
                // Whatever the shell makes of the value, it must not run it.
                _ = try RealReaders.run(shell, ["-c", "set -a; . ./.env"], in: directory)
                #expect(!Hostile.markerExists, "\(shell) ran a command from the dotenv spelling of \(value.label)")
                try? FileManager.default.removeItem(atPath: Hostile.marker)
            }
        }
    }

    @Test(
        "shell reads back in bash and dash with set -a; . ./file",
        arguments: ["bash", "dash"])
    func shellInPosixShells(shell: String) throws {
        try #require(RealReaders.locate(shell) != nil, "\(shell) is not installed")
        try withFormatsTemporaryDirectory { directory in
            try encodeAll(.shell, mustAccept: { !$0.hasNUL }) { value, file in
                try writeFormatsFile(file, named: "vars.sh", in: directory)
                let script = """
                    set -a; . ./vars.sh
                    printf %s "$KW_BEFORE" > before.out
                    printf %s "$KW_VALUE" > value.out
                    printf %s "$KW_AFTER" > after.out
                    """
                let output = try RealReaders.run(shell, ["-c", script], in: directory)
                #expect(output.status == 0, "\(shell) failed on \(value.label): \(output.stderrText)")
                #expect(output.stderrText.isEmpty, "\(shell) complained about \(value.label): \(output.stderrText)")
                let read = try ["before", "value", "after"].map {
                    Array(try Data(contentsOf: directory.appendingPathComponent("\($0).out")))
                }
                #expect(read == [Sandwich.before.value, value.bytes, Sandwich.after.value], "\(shell) read \(value.label) differently")
            }
        }
        #expect(!Hostile.markerExists, "a shell ran a command from a value")
    }

    @Test(
        "docker format reads back in the docker CLI's --env-file parser",
        .enabled(if: RealReaders.hasDockerClient, "the docker client is not installed"))
    func dockerInDockerCLI() throws {
        try withFormatsTemporaryDirectory { directory in
            try DockerCLI.withDaemon(in: directory) { create in
                var count = 0
                try encodeAll(.docker, mustAccept: \.docker) { value, file in
                    count += 1
                    let url = try writeFormatsFile(file, named: "env\(count)", in: directory)
                    let env = try create(url, "kw\(count)")
                    let expected = [Sandwich.before, (Sandwich.name, value.bytes), Sandwich.after].map {
                        Array($0.name.utf8) + [UInt8(ascii: "=")] + $0.value
                    }
                    #expect(env?.map { Array($0.utf8) } == expected, "docker read \(value.label) differently")
                }
            }
        }
        #expect(!Hostile.markerExists, "a reader ran a command from a value")
    }

    @Test(
        "systemd format reads back in systemd's env-file tokenizer",
        .enabled(if: RealReaders.hasSystemdAnalyze, "systemd-analyze is not installed"))
    func systemdInSystemd() throws {
        try withFormatsTemporaryDirectory { directory in
            try encodeAll(.systemd, mustAccept: { !$0.hasNUL && $0.isValidUTF8 }) { value, file in
                let url = try writeFormatsFile(Array("ID=kwtest\n".utf8) + file, named: "os-release", in: directory)
                let neighbours = [
                    "ConditionOSRelease=ID=kwtest",
                    SystemdReader.condition(name: Sandwich.before.name, value: Sandwich.before.value),
                    SystemdReader.condition(name: Sandwich.after.name, value: Sandwich.after.value),
                ]
                if value.bytes.isEmpty {
                    // fnmatch cannot match an empty pattern: check "not one character or more".
                    #expect(try SystemdReader.holds(neighbours, file: url, in: directory))
                    #expect(try !SystemdReader.holds(["ConditionOSRelease=\(Sandwich.name)$=?*"], file: url, in: directory))
                } else {
                    let own = SystemdReader.condition(name: Sandwich.name, value: value.bytes)
                    #expect(try SystemdReader.holds(neighbours + [own], file: url, in: directory), "systemd read \(value.label) differently")
                    // The check can fail: one more character must not match.
                    let wrong = SystemdReader.condition(name: Sandwich.name, value: value.bytes + [UInt8(ascii: "x")])
                    #expect(try !SystemdReader.holds([wrong], file: url, in: directory))
                }
            }
        }
        #expect(!Hostile.markerExists, "a reader ran a command from a value")
    }

    @Test(
        "json reads back in Python's json module, members in order",
        .enabled(if: RealReaders.locate("python3") != nil, "python3 is not installed"))
    func jsonInPython() throws {
        let script = """
            import json, sys
            pairs = json.loads(open(sys.argv[1], "rb").read(), object_pairs_hook=lambda p: p)
            print(json.dumps([[k, v.encode("utf-8").hex()] for k, v in pairs]))
            """
        try withFormatsTemporaryDirectory { directory in
            try encodeAll(.json, mustAccept: { !$0.hasNUL && $0.isValidUTF8 }) { value, file in
                #expect(file.last == 0x0A)
                let url = try writeFormatsFile(file, named: "vars.json", in: directory)
                let output = try RealReaders.run("python3", ["-c", script, url.path], in: directory)
                #expect(output.status == 0, "json.loads failed on \(value.label): \(output.stderrText)")
                let pairs = try JSONSerialization.jsonObject(with: Data(output.stdout)) as? [[String]]
                let expected = Sandwich.variables(value.bytes).map { [$0.name, formatsHex($0.value)] }
                #expect(pairs == expected, "json read \(value.label) differently")
            }
        }
    }
}

import Foundation
import KeywardenTestSupport
import Testing

/// The dotenv readers people load `.env` files with, run as themselves: each
/// is a small program in the reader's own language that parses every file it
/// is given and prints `{path: {name: hex of the value}}` (or `{path: null}`
/// when the reader rejects the file). Nothing here re-implements a parser.
struct DotenvReader: Sendable, CustomTestStringConvertible {
    let name: String
    /// Whether the reader turns `\n`/`\r` inside double quotes into line
    /// breaks (Ruby dotenv 3.x does not).
    let decodesEscapedLineBreaks: Bool
    /// The program and its arguments, before the file paths.
    let command: [String]

    var testDescription: String { name }

    /// A fixed, small environment: readers expand `$NAME` from the
    /// environment, and Ruby dotenv 3.x keeps a variable the environment has.
    static let environment: [String: String] = {
        let inherited = ProcessInfo.processInfo.environment
        var env = ["LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/nonexistent"]
        env["PATH"] = inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for key in ["PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH"] where inherited[key] != nil { env[key] = inherited[key] }
        return env
    }()

    /// Reads `files`; returns per path the name → hex map, nil for a file the
    /// reader rejected.
    func read(_ files: [String], in directory: String) throws -> [String: [String: String]?] {
        let result = try CommandRunner.run(command[0], Array(command.dropFirst()) + files, environment: Self.environment,
                                           currentDirectory: directory, timeout: 120)
        guard result.status == 0 else {
            Issue.record("\(name) failed (\(result.status)): \(result.err)")
            return [:]
        }
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any] ?? [:]
        return object.mapValues { $0 as? [String: String] }
    }

    /// Every reader installed here, or the name of one that is missing.
    /// `scripts/setup.sh --for-tests` installs them all (Debian packages
    /// `ruby-dotenv`, `golang-go`, `golang-github-joho-godotenv-dev`, and
    /// python-dotenv from PyPI).
    ///
    /// `KEYWARDEN_TEST_RUBY_DOTENV` may list more Ruby dotenv `lib` folders
    /// (colon-separated, e.g. checked-out 2.8.1 and 3.2.0 releases) to read
    /// with as well.
    static func installed(buildingIn directory: String) throws -> [DotenvReader] {
        var readers: [DotenvReader] = []
        let python = try #require(which("python3"), "python3 is missing")
        readers.append(DotenvReader(name: "python-dotenv (interpolate)", decodesEscapedLineBreaks: true,
                                    command: [python, "-c", DotenvReaderScripts.python, "1"]))
        readers.append(DotenvReader(name: "python-dotenv (no interpolation)", decodesEscapedLineBreaks: true,
                                    command: [python, "-c", DotenvReaderScripts.python, "0"]))
        readers.append(DotenvReader(name: "godotenv", decodesEscapedLineBreaks: true, command: [try buildGodotenvReader(in: directory)]))
        let ruby = try #require(which("ruby"), "ruby is missing: scripts/setup.sh --for-tests installs ruby-dotenv")
        let script = directory + "/dotenv-reader.rb"
        try Data(rubyScript.utf8).write(to: URL(fileURLWithPath: script))
        readers.append(DotenvReader(name: "Ruby dotenv (system)", decodesEscapedLineBreaks: true, command: [ruby, script]))
        for lib in (ProcessInfo.processInfo.environment["KEYWARDEN_TEST_RUBY_DOTENV"] ?? "").split(separator: ":") {
            let version = try CommandRunner.run(ruby, ["-I", String(lib), "-e", "require 'dotenv/version'; print Dotenv::VERSION"],
                                                environment: environment).out
            readers.append(DotenvReader(name: "Ruby dotenv \(version)", decodesEscapedLineBreaks: !version.hasPrefix("3"),
                                        command: [ruby, "-I", String(lib), script]))
        }
        // Each reader must answer at all, so a missing library fails here by name.
        let probe = directory + "/probe.env"
        try Data("A='b'\n".utf8).write(to: URL(fileURLWithPath: probe))
        for reader in readers {
            let read = try reader.read([probe], in: directory)
            try #require(read[probe] == ["A": "62"], "\(reader.name) does not work here: run scripts/setup.sh --for-tests")
        }
        return readers
    }

    static func which(_ program: String) -> String? {
        for folder in (environment["PATH"] ?? "").split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/\(program)") {
            return "\(folder)/\(program)"
        }
        return nil
    }

    /// `Dotenv::Parser.call` is the parser of every release from 2.4 to 3.x
    /// (`Dotenv.parse` is not in 2.4); it runs `$(cmd)` as `Dotenv.load` does.
    static let rubyScript = """
        require "dotenv"
        require "json"
        result = {}
        ARGV.each do |path|
          begin
            result[path] = Dotenv::Parser.call(File.read(path, encoding: "UTF-8")).to_h.transform_values { |v| v.unpack1("H*") }
          rescue StandardError, SyntaxError => e
            warn "#{path}: #{e.class}: #{e.message}"
            result[path] = nil
          end
        end
        puts JSON.generate(result)
        """

    static let goSource = """
        // Reads each .env file with godotenv and prints {path: {name: hex}}, or {path: null}.
        package main

        import (
        \t"encoding/hex"
        \t"encoding/json"
        \t"fmt"
        \t"os"

        \t"github.com/joho/godotenv"
        )

        func main() {
        \tresult := map[string]map[string]string{}
        \tfor _, path := range os.Args[1:] {
        \t\tvalues, err := godotenv.Read(path)
        \t\tif err != nil {
        \t\t\tfmt.Fprintf(os.Stderr, "%s: %v\\n", path, err)
        \t\t\tresult[path] = nil
        \t\t\tcontinue
        \t\t}
        \t\tread := map[string]string{}
        \t\tfor name, value := range values {
        \t\t\tread[name] = hex.EncodeToString([]byte(value))
        \t\t}
        \t\tresult[path] = read
        \t}
        \tif err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
        \t\tos.Exit(1)
        \t}
        }
        """

    /// Builds the godotenv reader offline, in GOPATH mode, from Debian's
    /// `golang-github-joho-godotenv-dev` in /usr/share/gocode: no module
    /// proxy, no network.
    static func buildGodotenvReader(in directory: String) throws -> String {
        let go = try #require(which("go"), "go is missing: scripts/setup.sh --for-tests installs golang-go")
        let gopath = directory + "/gopath"
        try FileManager.default.createDirectory(atPath: gopath + "/src/kwdotenvreader", withIntermediateDirectories: true)
        try Data(goSource.utf8).write(to: URL(fileURLWithPath: gopath + "/src/kwdotenvreader/main.go"))
        let binary = directory + "/godotenv-reader"
        var env = environment
        env["HOME"] = directory
        env["GO111MODULE"] = "off"
        env["GOPATH"] = "/usr/share/gocode:" + gopath
        env["GOCACHE"] = directory + "/gocache"
        env["GOPROXY"] = "off"
        env["GOFLAGS"] = ""
        let result = try CommandRunner.run(go, ["build", "-o", binary, "kwdotenvreader"], environment: env, currentDirectory: directory, timeout: 300)
        try #require(result.status == 0, "building the godotenv reader failed (scripts/setup.sh --for-tests installs golang-github-joho-godotenv-dev): \(result.err)")
        return binary
    }
}

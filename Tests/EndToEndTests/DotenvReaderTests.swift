import Foundation
import KeywardenTestSupport
import Testing

/// A value that has broken some `.env` writer or reader in the wild, and
/// what `export` must do with it.
struct HostileDotenvValue: Sendable {
    let label: String
    let bytes: [UInt8]
    /// Whether `--format dotenv` must write it (false: refuse it by name).
    let dotenv: Bool
    /// Whether `--multiline` must write it.
    let multiline: Bool

    var hasLineBreak: Bool { bytes.contains(0x0A) || bytes.contains(0x0D) }
}

/// The corpus: every value either reads back byte for byte in every reader,
/// or `export` refuses it naming the variable. `MARK` stands for a file that
/// a reader running a command would create.
enum HostileDotenv {
    static let marker = "/tmp/keywarden-dotenv-pwned-\(getpid())"

    /// (label, value, dotenv accepts, --multiline accepts)
    static let table: [(String, String, Bool, Bool)] = [
        ("empty", "", true, true),
        ("API key", "sk-ant-api03-AbC_dEf-123456789xyz", true, true),
        ("base64", "dGVzdA+/==", true, true),
        ("URL", "https://user:pa%20ss@example.com:8443/v1/path?q=1&r=a+b#frag", true, true),
        ("JSON with escaped newline", #"{"type":"sa","key":"-----BEGIN-----\nMIIE\n-----END-----\n","n":[1,2]}"#, true, true),
        ("JSON with apostrophe", #"{"name":"it's","path":"C:\\dir\\"}"#, false, false),
        ("newline", "line1\nline2", false, true),
        ("trailing newline", "value\n", false, true),
        ("leading newline", "\nvalue", false, true),
        ("only a newline", "\n", false, true),
        ("CR", "a\rb", false, true),
        ("CRLF", "a\r\nb", false, true),
        ("only CRLF", "\r\n", false, true),
        ("PEM", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg==\n-----END PRIVATE KEY-----\n", false, true),
        ("newline then assignment with $(cmd)", "safe\nX=$(touch MARK)", false, false),
        ("newline then assignment with backtick", "safe\nX=`touch MARK`", false, false),
        ("newline then single-quoted assignment", "a\nKW_INJECTED='y'", false, true),
        ("newline then export", "x\nexport EVIL_INJECTED=1\nEVIL2=2", false, true),
        ("CR then assignment", "a\rKW_INJECTED=1", false, true),
        ("single quote", "it's", true, true),
        ("only a single quote", "'", true, true),
        ("double quote", #"say "hi""#, true, true),
        ("only a double quote", "\"", true, true),
        ("both quotes", #"it's "quoted""#, false, false),
        ("both quotes adjacent", "a'b\"c", false, false),
        ("quote and newline", "it's\nfine", false, true),
        ("double quote and newline", "say\n\"hi\"", false, false),
        ("single-quote wrapped", "'wrapped'", true, true),
        ("double-quote wrapped", #""wrapped""#, true, true),
        ("quote ; quote", "';touch MARK;'", true, true),
        ("dquote ; dquote", "\";touch MARK;\"", true, true),
        ("backtick", "`touch MARK`", true, true),
        ("$VAR", "$HOME/bin:$PATH", true, true),
        ("only $HOME", "$HOME", true, true),
        ("$_ and $1", "$_ $1 $$ $?", true, true),
        ("$$", "a$$b", true, true),
        ("${VAR}", "${HOME}", false, false),
        ("${VAR:-x}", "${KW_UNSET_VARIABLE:-fallback}", false, false),
        ("${ without }", "${not closed", true, true),
        ("${ at end", "a${", true, true),
        ("${A:x}", "${A:x}", true, true),
        ("${A:- without }", "${HOME:-x", true, true),
        ("$(cmd)", "$(touch MARK)", true, true),
        ("$( unclosed", "$(touch MARK", true, true),
        ("assignment with $(cmd)", "X=$(touch MARK)", true, true),
        ("escaped $", #"\$HOME"#, true, true),
        ("quote and backtick", "it's `touch MARK`", false, false),
        ("newline and backtick", "a\n`touch MARK`", false, false),
        ("quotes and ;", #"it's "x";touch MARK"#, false, false),
        ("quotes and |", #"it's "x"|touch MARK"#, false, false),
        ("quotes and &", #"it's "x"&touch MARK&"#, false, false),
        ("quotes and $(cmd)", #"it's "$(touch MARK)""#, false, false),
        ("quoted $(cmd)", "'$(touch MARK)'", false, false),
        ("quote, newline and $(cmd)", "it's\n$(touch MARK)", false, false),
        ("quote and $", "it's $HOME", false, false),
        ("backslashes and ;", #"a\\b;touch MARK"#, false, false),
        ("backslashes and space", #"a\\b touch"#, false, false),
        (";", "a;touch MARK", true, true),
        ("| and &", "a|touch MARK&", true, true),
        ("shell metacharacters", "<>|&;() {a,b} [a-z] *.txt ?", true, true),
        ("history and tilde", "a!b!! ~/path", true, true),
        ("printf", "%s %d %%", true, true),
        ("# without space", "abc#def", true, true),
        ("# after space", "abc #def", true, true),
        ("several #", "a # b # c", true, true),
        ("leading #", "#abc", true, true),
        ("only #", "#", true, true),
        ("backslash", #"a\b"#, true, true),
        ("Windows path", #"C:\Users\me"#, true, true),
        ("backslash n", #"a\nb"#, true, true),
        ("backslash n at end", #"abc\n"#, true, true),
        ("backslash r and t", #"a\rb\tc"#, true, true),
        ("backslash quote", #"a\"b"#, true, true),
        ("two backslashes", #"a\\b"#, false, false),
        ("trailing backslash", #"C:\dir\"#, false, false),
        ("only a backslash", #"\"#, false, false),
        ("quote and two backslashes", #"it's \\ here"#, false, false),
        ("leading and trailing spaces", "  padded  ", true, true),
        ("only spaces", "   ", true, true),
        ("one space", " ", true, true),
        ("leading and trailing tabs", "\tTabbed\t", true, true),
        ("tab inside", "a\tb", true, true),
        ("equals signs", "a=b==c=", true, true),
        ("only =", "=", true, true),
        ("looks like an assignment", "KEY=VALUE", true, true),
        ("starts with export", "export X=1", true, true),
        ("colon space", ": value", true, true),
        ("non-ASCII", "pässwörd-日本語-Ωμέγα", true, true),
        ("emoji", "🔑🦄👩‍💻", true, true),
        ("astral plane", "𝄞𝕏", true, true),
        ("combining accent", "e\u{301}", true, true),
        ("right-to-left override", "\u{202E}abc", true, true),
        ("BOM inside", "\u{FEFF}abc", true, true),
        ("line separator", "a\u{2028}b", true, true),
        ("paragraph separator", "a\u{2029}b", true, true),
        ("next line U+0085", "a\u{85}b", true, true),
        ("vertical tab and form feed", "a\u{0B}b\u{0C}c", true, true),
        ("escape sequence", "\u{1B}[31mred\u{1B}[0m", true, true),
        ("DEL", "a\u{7F}b", true, true),
    ]

    static let values: [HostileDotenvValue] = table.map { label, text, dotenv, multiline in
        HostileDotenvValue(label: label, bytes: Array(text.replacingOccurrences(of: "MARK", with: marker).utf8),
                           dotenv: dotenv, multiline: multiline)
    } + [
        HostileDotenvValue(label: "100 KiB", bytes: (0..<(100 * 1024)).map { Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)[$0 % 36] },
                           dotenv: true, multiline: true),
        HostileDotenvValue(label: "invalid UTF-8", bytes: [0xFF, 0xFE, 0x41, 0xC3], dotenv: false, multiline: false),
    ]
}

@Suite("End to end: export --format dotenv in every dotenv reader", .serialized)
struct DotenvReaderTests {
    /// The neighbours written around each value, to catch one that leaks
    /// into the next line or swallows it.
    static let before = ("KW_BEFORE", "before"), after = ("KW_AFTER", "after")

    static func name(_ index: Int) -> String { "KW_V\(index)" }

    /// A vault whose `prod` scope holds every value of the corpus as a
    /// secret config entry, plus the two neighbours.
    func corpusVault() throws -> CLIHarness {
        let cli = CLIHarness(.direct)
        try cli.initVault()
        for (name, value) in [Self.before, Self.after] {
            try cli.ok(["config", "set", name, value, "--scope", "prod"])
        }
        for (index, value) in HostileDotenv.values.enumerated() {
            // The value as stdin, with the one newline `config set` strips.
            let result = try CommandRunner.run(CommandRunner.keywardenBinary, ["config", "set", Self.name(index), "--secret", "--scope", "prod"],
                                               environment: cli.environment, stdin: value.bytes + [0x0A])
            try #require(result.status == 0, "config set \(value.label): \(result.err)")
        }
        return cli
    }

    @Test("every hostile value reads back byte for byte in every reader, or is refused by name; no reader gets an extra variable or runs a command",
          arguments: [false, true])
    func everyReader(multiline: Bool) throws {
        unlink(HostileDotenv.marker)
        defer { unlink(HostileDotenv.marker) }
        let cli = try corpusVault()
        let readers = try DotenvReader.installed(buildingIn: cli.directory.path)
        let flags = multiline ? ["--multiline"] : []

        // One file per value, between its neighbours; the refusals by name.
        var files: [(path: String, index: Int)] = []
        for (index, value) in HostileDotenv.values.enumerated() {
            let name = Self.name(index)
            let path = cli.directory.file("v\(index).env")
            let result = try cli.run(["export", "--scope", "prod", "--output", path,
                                      "--only", "\(Self.before.0),\(name),\(Self.after.0)"] + flags)
            let mustWrite = multiline ? value.multiline : value.dotenv
            if result.status == 0 {
                #expect(mustWrite, "export wrote \(value.label), which it must refuse")
                files.append((path, index))
            } else {
                #expect(!mustWrite, "export refused \(value.label): \(result.err)")
                #expect(result.status == 2, "\(value.label): \(result.err)")
                #expect(result.err.contains("cannot write \(name) in dotenv"), "the refusal of \(value.label) must name \(name): \(result.err)")
                #expect(!FileManager.default.fileExists(atPath: path), "a refused export of \(value.label) left a file")
                if value.bytes.count >= 4, let text = String(validating: value.bytes, as: UTF8.self) {
                    #expect(!result.err.contains(text), "the refusal of \(value.label) shows the value")
                }
            }
        }
        // All accepted values in one file, as a user would export them.
        let all = cli.directory.file("all.env")
        let names = [Self.before.0] + files.map { Self.name($0.index) } + [Self.after.0]
        try cli.ok(["export", "--scope", "prod", "--output", all, "--only", names.joined(separator: ",")] + flags)

        for reader in readers {
            let read = try reader.read(files.map(\.path) + [all], in: cli.directory.path)
            var wrong: [String] = []
            var unchecked = 0
            var everything: [String: String] = [Self.before.0: hex(Self.before.1), Self.after.0: hex(Self.after.1)]
            for (path, index) in files {
                let value = HostileDotenv.values[index]
                var expected = [Self.before.0: hex(Self.before.1), Self.after.0: hex(Self.after.1)]
                expected[Self.name(index)] = hex(value.bytes)
                everything[Self.name(index)] = hex(value.bytes)
                guard let got = read[path] ?? nil else {
                    wrong.append("\(value.label) (file rejected)")
                    continue
                }
                // No reader may ever see another variable.
                #expect(Set(got.keys) == Set(expected.keys), "\(reader.name) read other variables from \(value.label): \(got.keys.sorted())")
                if value.hasLineBreak && !reader.decodesEscapedLineBreaks {
                    // Documented: --multiline's \n is two characters here.
                    unchecked += 1
                    continue
                }
                if got != expected { wrong.append(value.label) }
            }
            #expect(wrong.isEmpty, "\(reader.name): \(wrong.count) of \(files.count) values read back differently: \(wrong)")
            if let whole = read[all] ?? nil {
                #expect(Set(whole.keys) == Set(everything.keys), "\(reader.name) read other variables from the whole file")
                if reader.decodesEscapedLineBreaks {
                    #expect(whole == everything, "\(reader.name) read the whole file differently")
                }
            } else {
                Issue.record("\(reader.name) rejected the whole file")
            }
            print("dotenv\(multiline ? " --multiline" : ""): \(reader.name): \(files.count - wrong.count - unchecked) of \(files.count) written values exact"
                    + (unchecked > 0 ? " (\(unchecked) with a line break read as \\n, as documented)" : "")
                    + ", \(HostileDotenv.values.count - files.count) refused by name")
        }
        #expect(!FileManager.default.fileExists(atPath: HostileDotenv.marker), "a reader ran a command from a value")
    }

    @Test("--multiline goes with the dotenv format only")
    func multilineOnlyForDotenv() throws {
        let cli = CLIHarness(.direct)
        try cli.initVault()
        let result = try cli.run(["export", "--scope", "default", "--format", "shell", "--multiline"])
        #expect(result.status != 0)
        #expect(result.err.contains("--multiline goes with --format dotenv"), "\(result.err)")
    }

    func hex(_ text: String) -> String { hex(Array(text.utf8)) }
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}

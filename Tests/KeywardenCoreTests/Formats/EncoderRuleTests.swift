import Foundation
import Testing

@testable import KeywardenCore

/// The exact bytes each format writes, for readers that cannot run here (Node
/// dotenv, godotenv, compose-go, older docker), checked against the rules and
/// vectors in shared/reference/dotenv.md.
@Suite("Encoder rules")
struct EncoderRuleTests {
    func encoded(_ value: String, _ format: ExportFormat, name: String = "K") throws -> String {
        String(decoding: try EnvironmentEncoder.encode([(name, Array(value.utf8))], as: format), as: UTF8.self)
    }

    func refusal(_ value: [UInt8], _ format: ExportFormat, name: String = "K") -> FormatError? {
        do {
            _ = try EnvironmentEncoder.encode([(name, value)], as: format)
            return nil
        } catch {
            return error
        }
    }

    func refusal(_ value: String, _ format: ExportFormat, name: String = "K") -> FormatError? {
        refusal(Array(value.utf8), format, name: name)
    }

    // MARK: dotenv decision table

    @Test("dotenv row 1: single quotes for the portable subset", arguments: [
        ("sk-ant-api03-xyz", "K='sk-ant-api03-xyz'\n"),
        ("", "K=''\n"),  // a bare `K` is None in python-dotenv and an error in godotenv
        ("$HOME/x", "K='$HOME/x'\n"),  // compose-go and godotenv do not expand in single quotes
        ("a #b", "K='a #b'\n"),  // python-dotenv/godotenv would cut an unquoted ` #`
        ("a#b", "K='a#b'\n"),  // Node dotenv would cut an unquoted `#`
        ("  x  ", "K='  x  '\n"),  // every reader trims unquoted values
        (#"a\nb"#, #"K='a\nb'"# + "\n"),  // literal backslash-n (godotenv vector `'\n'` → `\n`)
        (#"a\b"#, #"K='a\b'"# + "\n"),  // a lone backslash is literal in all four
        ("`cmd`", "K='`cmd`'\n"),
        ("${unclosed", "K='${unclosed'\n"),  // python-dotenv only expands a complete ${…}
        ("\"x\"", "K='\"x\"'\n"),
    ])
    func dotenvSingleQuotes(value: String, file: String) throws {
        #expect(try encoded(value, .dotenv) == file)
    }

    @Test("dotenv row 2: double quotes when single quotes cannot", arguments: [
        ("it's", "K=\"it's\"\n"),
        ("'x'", "K=\"'x'\"\n"),
        ("it's #1", "K=\"it's #1\"\n"),
    ])
    func dotenvDoubleQuotes(value: String, file: String) throws {
        #expect(try encoded(value, .dotenv) == file)
    }

    @Test("dotenv-multiline: line breaks as \\n and \\r in double quotes, one physical line per variable", arguments: [
        ("a\nb", "K=\"a\\nb\"\n"),  // a raw LF would end the value in Ruby dotenv 2.4, which reads line by line
        ("a\rb", "K=\"a\\rb\"\n"),  // a raw CR becomes LF in python-dotenv and Node
        ("a\r\nb", "K=\"a\\r\\nb\"\n"),
        ("it's\nfine", "K=\"it's\\nfine\"\n"),
        ("x\nY=1", "K=\"x\\nY=1\"\n"),
    ])
    func dotenvMultiline(value: String, file: String) throws {
        #expect(try encoded(value, .dotenvMultiline) == file)
        // The same value in plain dotenv is refused, pointing at --multiline.
        let error = try #require(refusal(value, .dotenv))
        #expect(error.reason.contains("--multiline"), "\(error.reason)")
    }

    @Test("dotenv-multiline refuses a line break that double quotes cannot hold", arguments: [
        "say\n\"hi\"", "$A\nb", "a\\b\nc", "a\n`id`", "safe\nX=$(touch /tmp/x)",
    ])
    func dotenvMultilineRefusals(value: String) throws {
        let error = try #require(refusal(value, .dotenvMultiline))
        #expect(error.reason.contains("only double quotes carry"), "\(error.reason)")
    }

    @Test("dotenv refuses values no spelling carries, naming the reason", arguments: [
        ("${HOME}", "python-dotenv expands"),
        ("x${A:-b}y", "python-dotenv expands"),
        ("${}", "python-dotenv expands"),
        ("it's $HOME", "no quoting reads it back the same"),
        ("it's #1 \"x\"", "no quoting reads it back the same"),
        (" it's \"x\"", "no quoting reads it back the same"),
        ("it's\n\"x\"", "line break"),
        ("\\\r", "line break"),
        (#"it's "x""#, "no quoting reads it back the same"),
        (#"{"a":"it's"}"#, "no quoting reads it back the same"),
        ("it's `id`", "a shell sourcing the file would run it"),
        (#"a\\b;id"#, "no quoting reads it back the same"),
        // Unquoted spellings are gone: Ruby dotenv 2.8 and 3.x drop their backslashes.
        (#"C:\dir\"#, "a trailing backslash"),
        (#"a\\b"#, "two backslashes in a row"),
    ])
    func dotenvRefusals(value: String, reason: String) throws {
        let error = try #require(refusal(value, .dotenv, name: "PROD_KEY"))
        #expect(error.variable == "PROD_KEY")
        #expect(error.format == .dotenv)
        #expect(error.reason.contains(reason), "\(error.reason)")
    }

    @Test("dotenv carries ${ forms python-dotenv leaves alone")
    func dotenvPartialInterpolation() throws {
        // `\$\{[^}:]*(:-[^}]*)?\}` does not match these, so python-dotenv keeps them.
        #expect(try encoded("${A:x}", .dotenv) == "K='${A:x}'\n")
        #expect(try encoded("${A", .dotenv) == "K='${A'\n")
        #expect(try encoded("$ {A}", .dotenv) == "K='$ {A}'\n")
    }

    @Test("dotenv refuses invalid UTF-8")
    func dotenvInvalidUTF8() throws {
        let error = try #require(refusal([0x61, 0xFF], .dotenv))
        #expect(error.reason.contains("UTF-8"))
    }

    // MARK: shell

    @Test("shell writes export NAME='…' with ' as '\\''")
    func shellQuoting() throws {
        #expect(try encoded("it's", .shell) == "export K='it'\\''s'\n")
        #expect(try encoded("", .shell) == "export K=''\n")
        #expect(try encoded("$(x)\n`y`\\", .shell) == "export K='$(x)\n`y`\\'\n")
        // Invalid UTF-8 is fine: the shell copies bytes.
        #expect(try EnvironmentEncoder.encode([("K", [0xFF])], as: .shell) == Array("export K='".utf8) + [0xFF, 0x27, 0x0A])
    }

    // MARK: docker

    @Test("docker writes values raw, edge whitespace included")
    func dockerRaw() throws {
        #expect(try encoded("  a \"b\" 'c' #d $e \\f  ", .docker) == "K=  a \"b\" 'c' #d $e \\f  \n")
        #expect(try encoded("", .docker) == "K=\n")
        #expect(try encoded("'", .docker) == "K='\n")  // one quote is not a pair
        #expect(try encoded("'a\"", .docker) == "K='a\"\n")
    }

    @Test("docker refuses what its kvfile reader would change", arguments: [
        ("a\nb", "newline"),
        ("a\rb", "carriage return"),
        ("'quoted'", "same quote character"),
        ("\"quoted\"", "same quote character"),
    ])
    func dockerRefusals(value: String, reason: String) throws {
        let error = try #require(refusal(value, .docker, name: "PROD_KEY"))
        #expect(error.reason.contains(reason))
    }

    @Test("docker's message names the variable and the reader")
    func dockerMessage() throws {
        let error = try #require(refusal("a\nb", .docker, name: "PROD_KEY"))
        #expect(
            error.description
                == "cannot write PROD_KEY in docker format: the value contains a newline, which docker --env-file cannot carry")
    }

    @Test("docker lines stop at 65535 bytes")
    func dockerLineLimit() throws {
        // "K=" + value + LF: 65535 bytes before the newline is the most bufio.Scanner returns.
        let longest = [UInt8](repeating: UInt8(ascii: "a"), count: 65_535 - 2)
        #expect(try EnvironmentEncoder.encode([("K", longest)], as: .docker).count == 65_536)
        let error = try #require(refusal(longest + [UInt8(ascii: "a")], .docker))
        #expect(error.reason.contains("65536 bytes"))
        #expect(refusal([0xC3, 0x28], .docker)?.reason.contains("UTF-8") == true)
    }

    // MARK: systemd

    @Test("systemd escapes \" \\ ` $ and keeps LF, CR, tab raw inside double quotes")
    func systemdQuoting() throws {
        #expect(try encoded("a\"b\\c`d$e", .systemd) == "K=\"a\\\"b\\\\c\\`d\\$e\"\n")
        #expect(try encoded("l1\nl2\r\tx  ", .systemd) == "K=\"l1\nl2\r\tx  \"\n")
        // A trailing backslash is escaped, so it never joins the next line.
        #expect(try encoded("a\\", .systemd) == "K=\"a\\\\\"\n")
        #expect(try encoded("it's #x", .systemd) == "K=\"it's #x\"\n")
        #expect(refusal([0xFF], .systemd)?.reason.contains("UTF-8") == true)
    }

    // MARK: json

    @Test("json escapes quotes, backslashes and controls, keeps order")
    func jsonEscaping() throws {
        let bytes = try EnvironmentEncoder.encode(
            [("B", Array("q\"\\\n\r\t\u{8}\u{C}\u{1}\u{7F}é".utf8)), ("A", [])], as: .json)
        #expect(String(decoding: bytes, as: UTF8.self) == "{\"B\":\"q\\\"\\\\\\n\\r\\t\\b\\f\\u0001\u{7F}é\",\"A\":\"\"}\n")
        #expect(try EnvironmentEncoder.encode([], as: .json) == Array("{}\n".utf8))
        #expect(refusal([0xED, 0xA0, 0x80], .json)?.reason.contains("UTF-8") == true)  // a surrogate
    }

    // MARK: every format

    @Test("every format refuses NUL, bad names and repeated names", arguments: ExportFormat.allCases)
    func commonRefusals(format: ExportFormat) throws {
        let nul = try #require(refusal([0x61, 0x00], format, name: "SECRET"))
        #expect(nul.description.hasPrefix("cannot write SECRET in \(format.rawValue) format: "))
        #expect(nul.reason.contains("NUL"))
        for bad in ["", "1ABC", "A-B", "A B", "A=B", "É", "A.B", "A\nB"] {
            let error = try #require(refusal("v", format, name: bad), "\(format) accepted the name \(bad.debugDescription)")
            #expect(error.variable == bad)
            #expect(error.reason.contains("name"))
            #expect(!error.description.contains("\n"))  // a bad name cannot forge a line
        }
        do {
            _ = try EnvironmentEncoder.encode([("A", [1]), ("A", [2])], as: format)
            Issue.record("\(format) accepted a repeated name")
        } catch {
            #expect(error.variable == "A")
        }
    }

    @Test("nothing is returned when a later variable is refused")
    func noPartialOutput() {
        #expect(throws: FormatError.self) {
            try EnvironmentEncoder.encode([("OK", Array("fine".utf8)), ("BAD", Array("${X}".utf8))], as: .dotenv)
        }
    }
}

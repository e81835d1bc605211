import Foundation
import Testing

@testable import KeywardenCore

/// A value that has broken some exporter in the wild, with what the dotenv
/// and docker writers are expected to do with it.
struct HostileValue: Sendable, CustomTestStringConvertible {
    let label: String
    let bytes: [UInt8]
    /// Whether the dotenv writer must accept it (false: it must refuse).
    let dotenv: Bool
    /// Whether dotenv-multiline (`export --multiline`) must accept it.
    let dotenvMultiline: Bool
    /// Whether the docker writer must accept it.
    let docker: Bool

    init(_ label: String, _ bytes: [UInt8], dotenv: Bool = true, multiline: Bool? = nil, docker: Bool = true) {
        self.label = label
        self.bytes = bytes
        self.dotenv = dotenv
        self.dotenvMultiline = multiline ?? dotenv
        self.docker = docker
    }

    init(_ label: String, _ text: String, dotenv: Bool = true, multiline: Bool? = nil, docker: Bool = true) {
        self.init(label, Array(text.utf8), dotenv: dotenv, multiline: multiline, docker: docker)
    }

    /// Whether the writer of `format` (dotenv or dotenv-multiline) must accept it.
    func accepted(by format: ExportFormat) -> Bool {
        format == .dotenvMultiline ? dotenvMultiline : dotenv
    }

    var testDescription: String { label }

    var hasNUL: Bool { bytes.contains(0) }
    var isValidUTF8: Bool { String(validating: bytes, as: UTF8.self) != nil }
}

/// The shared corpus. Every format test runs over all of it.
enum Hostile {
    /// A file that must never exist: the `$(…)` and backtick values would
    /// create it if any reader ran them as commands.
    static let marker = "/tmp/keywarden-formats-marker-\(UUID().uuidString)"

    /// 100 KiB of letters and digits: big enough to find size limits, plain
    /// enough to pass through systemd-analyze's argument in the systemd test.
    static let large: [UInt8] = {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
        return (0..<(100 * 1024)).map { alphabet[($0 * 7 + $0 / 13) % alphabet.count] }
    }()

    static let values: [HostileValue] = [
        HostileValue("empty", ""),
        HostileValue("API key", "sk-ant-api03-AbC_dEf-123456789xyz"),
        HostileValue("URL", "https://user:pa%20ss@example.com:8443/v1/path?q=1&r=a+b#frag"),
        HostileValue("JSON blob", #"{"type":"service_account","private_key":"-----BEGIN KEY-----\nMIIE\n-----END KEY-----\n","n":[1,2]}"#),
        // Both quotes and characters a shell acts on: no spelling is both exact and inert when sourced.
        HostileValue("JSON with apostrophe", #"{"name":"it's","path":"C:\\dir\\"}"#, dotenv: false),
        HostileValue("newline", "line1\nline2", dotenv: false, multiline: true, docker: false),
        HostileValue("trailing newline", "value\n", dotenv: false, multiline: true, docker: false),
        HostileValue("CR", "a\rb", dotenv: false, multiline: true, docker: false),
        HostileValue("CRLF", "a\r\nb", dotenv: false, multiline: true, docker: false),
        HostileValue("PEM", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg==\n-----END PRIVATE KEY-----\n", dotenv: false, multiline: true, docker: false),
        HostileValue("single quote", "it's"),
        HostileValue("double quote", #"say "hi""#),
        HostileValue("both quotes", #"it's "quoted""#, dotenv: false),
        HostileValue("quote and newline", "it's\nfine", dotenv: false, multiline: true, docker: false),
        HostileValue("double quote and newline", "say\n\"hi\"", dotenv: false, docker: false),
        HostileValue("single-quote wrapped", "'wrapped'", docker: false),
        HostileValue("double-quote wrapped", #""wrapped""#, docker: false),
        HostileValue("backtick", "`touch \(marker)`"),
        HostileValue("$VAR", "$HOME/bin:$PATH"),
        HostileValue("${VAR}", "${HOME}", dotenv: false),
        HostileValue("${VAR:-x}", "${KW_UNSET_VARIABLE:-fallback}", dotenv: false),
        HostileValue("${ without }", "${not closed"),
        HostileValue("$(cmd)", "$(touch \(marker))"),
        // Values that ran a command when a dotenv file was sourced with `set -a; . .env`.
        HostileValue("quote and backtick", "it's `touch \(marker)`", dotenv: false),
        HostileValue("newline and backtick", "a\n`touch \(marker)`", dotenv: false, docker: false),
        HostileValue("quotes and ;", #"it's "x";touch \#(marker)"#, dotenv: false),
        HostileValue("quotes and |", #"it's "x"|touch \#(marker)"#, dotenv: false),
        HostileValue("quotes and &", #"it's "x"&touch \#(marker)&"#, dotenv: false),
        HostileValue("quotes and $(cmd)", #"it's "$(touch \#(marker))""#, dotenv: false),
        HostileValue("quote, newline and $(cmd)", "it's\n$(touch \(marker))", dotenv: false, docker: false),
        HostileValue("backslashes and ;", #"a\\b;touch \#(marker)"#, dotenv: false),
        HostileValue("backslashes and space", #"a\\b touch"#, dotenv: false),
        HostileValue(";", "a;touch \(marker)"),
        HostileValue("| and &", "a|touch \(marker)&"),
        HostileValue("quote and $", "it's $HOME", dotenv: false),
        HostileValue("# without space", "abc#def"),
        HostileValue("# after space", "abc #def"),
        HostileValue("leading #", "#abc"),
        HostileValue("backslash", #"a\b"#),
        HostileValue("backslash n", #"a\nb"#),
        // Ruby dotenv 2.8 and 3.x drop the backslashes of an unquoted value.
        HostileValue("two backslashes", #"a\\b"#, dotenv: false),
        HostileValue("trailing backslash", #"C:\dir\"#, dotenv: false),
        HostileValue("quote and two backslashes", #"it's \\ here"#, dotenv: false),
        HostileValue("leading and trailing spaces", "  padded  "),
        HostileValue("leading and trailing tabs", "\tTabbed\t"),
        HostileValue("equals signs", "a=b==c="),
        HostileValue("non-ASCII", "pässwörd-日本語-Ωμέγα"),
        HostileValue("emoji", "🔑🦄👩‍💻"),
        HostileValue("line separator", "a\u{2028}b"),
        HostileValue("export injection", "x\nexport EVIL_INJECTED=1\nEVIL2=2", dotenv: false, multiline: true, docker: false),
        HostileValue("100 KiB", large, docker: false),
        HostileValue("invalid UTF-8", [0xFF, 0xFE, 0x41, 0xC3], dotenv: false, docker: false),
        HostileValue("NUL", [0x61, 0x00, 0x62], dotenv: false, docker: false),
    ]

    /// True when the marker file exists, i.e. some reader ran a command.
    static var markerExists: Bool { FileManager.default.fileExists(atPath: marker) }
}

/// Checks that a refusal names the variable and the format and does not leak
/// the value.
func expectNamedRefusal(
    _ error: FormatError, name: String, format: ExportFormat, value: [UInt8],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(error.variable == name, sourceLocation: sourceLocation)
    #expect(error.format == format, sourceLocation: sourceLocation)
    #expect(error.description.hasPrefix("cannot write \(name) in \(format.rawValue) format: "), sourceLocation: sourceLocation)
    // A value of four bytes or more must not appear in the message.
    if value.count >= 4, let text = String(validating: value, as: UTF8.self) {
        #expect(!error.description.contains(text), sourceLocation: sourceLocation)
    }
}

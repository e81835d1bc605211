/// Writes environment variables in the formats of ``ExportFormat``.
///
/// Every format is defined by the program that reads it: an accepted value
/// reads back byte for byte in that program, and a value it cannot carry is
/// refused with a ``FormatError`` naming the variable, never written mangled.
/// In every format a name must match `[A-Za-z_][A-Za-z0-9_]*`, may appear only
/// once, and a value may not contain a NUL byte (no environment can hold one).
///
/// ## dotenv
/// One `NAME=…` line per variable, for python-dotenv 1.2.2 (`dotenv_values`
/// with interpolation on and off), Node dotenv, godotenv, compose-go and Ruby
/// dotenv 2.4, 2.8 and 3.x. Every spelling keeps a variable on one physical
/// line. The first row that fits is used:
///
/// | # | the value | written as | why |
/// |---|---|---|---|
/// | – | is not valid UTF-8 | refused | python-dotenv fails to decode the file; Node dotenv substitutes U+FFFD |
/// | – | contains `${…}` that python-dotenv's `\$\{[^}:]*(:-[^}]*)?\}` matches | refused | python-dotenv interpolates it in every quoting style, with no escape |
/// | – | has LF or CR (format `dotenv`) | refused | Ruby dotenv 2.4 reads line by line (a raw line break would end the value and start new assignments); Ruby dotenv 3.x reads `\n` as two characters: no spelling is exact in both |
/// | M | has LF or CR (format `dotenv-multiline`, `export --multiline`), no `"`, `\`, `$`, `` ` `` | `NAME="v"`, LF as `\n`, CR as `\r` | decoded by all but Ruby dotenv 3.x |
/// | 1 | has no `'`, `\\`, or trailing `\` | `NAME='v'` | the portable subset: literal in all |
/// | 2 | has no `"`, `\`, `$`, `` ` `` | `NAME="v"` | a `'` needs double quotes; a backtick would run a command when a shell sources the file |
/// | – | anything else | refused | e.g. `'` with `$`: single quotes cannot hold `'`, double quotes expand `$` in compose-go, godotenv and Ruby |
///
/// Why the exclusions: a `'` cannot be escaped in single quotes for Node
/// (literal) and python/compose-go (`\'`) alike; python-dotenv reads `\\` in
/// single quotes as one backslash and a trailing `\` as an escaped closing
/// quote; Node dotenv keeps `\"` and `\\` in double quotes as written while
/// the others unescape them; compose-go, godotenv and Ruby expand `$` outside
/// single quotes (Ruby also runs `$(cmd)`); unquoted values are never
/// written, because Node and Ruby cut them at `#`, every reader trims them, and
/// Ruby dotenv 2.8 and 3.x drop their backslashes.
///
/// A dotenv file is also often loaded with `set -a; . ./.env`, so every
/// accepted spelling executes nothing in bash and dash: single quotes are
/// literal there, and double quotes never hold `$` or a backtick. (A shell
/// may still read `\n` in double quotes differently; use the `shell` format
/// for shells.)
///
/// ## shell
/// `export NAME='v'` with each `'` written `'\''`: inside single quotes bash
/// and dash take every byte literally (newlines, `$`, backticks, backslashes,
/// invalid UTF-8), so only NUL is refused.
///
/// ## docker
/// `NAME=v` raw: docker's kvfile reader has no quoting, escapes, comments
/// after values or interpolation, and keeps leading and trailing whitespace of
/// the value. Refused: LF (ends the line), CR (dropped before a line end),
/// invalid UTF-8 (the whole file is rejected), lines over 65,535 bytes
/// (`bufio.Scanner`'s limit), and values that begin and end with the same
/// quote character (newer docker/cli kvfile releases strip that pair; docker
/// 28.2 keeps it).
///
/// ## systemd
/// `NAME="v"` with a backslash before `"`, `\`, `` ` `` and `$`; LF, CR and tab
/// raw inside the quotes (systemd keeps them; it only joins lines after an
/// unescaped backslash, which this spelling never leaves before a newline, and
/// only trims whitespace outside quotes). Refused: invalid UTF-8 (systemd
/// ignores the assignment).
///
/// ## json
/// `{"NAME":"v",…}` and a newline, members in the given order, `"` and `\`
/// escaped, control characters as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`.
/// Refused: invalid UTF-8 (a JSON string is Unicode text).
public enum EnvironmentEncoder {
    /// Encodes `variables`, in order, as a complete file in `format`.
    ///
    /// - Throws: ``FormatError`` for the first variable whose name or value the
    ///   format cannot carry; nothing partial is returned.
    /// - Returns: The file's bytes. They contain the secret values: the caller
    ///   writes them out and wipes them.
    public static func encode(
        _ variables: [(name: String, value: [UInt8])],
        as format: ExportFormat
    ) throws(FormatError) -> [UInt8] {
        var out: [UInt8] = []
        var seen = Set<String>()
        if format == .json { out.append(UInt8(ascii: "{")) }
        for (index, variable) in variables.enumerated() {
            let name = variable.name
            func refuse(_ reason: String) -> FormatError {
                FormatError(variable: name, format: format, reason: reason)
            }
            guard PortableVariableName.isPortable(name) else {
                throw refuse("the name is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
            }
            guard seen.insert(name).inserted else {
                throw refuse("the variable is given more than once")
            }
            guard !variable.value.contains(0) else {
                throw refuse("the value contains a NUL byte, which no environment variable can hold")
            }
            switch format {
            case .dotenv, .dotenvMultiline:
                switch DotenvEncoding.encode(variable.value, multiline: format == .dotenvMultiline) {
                case .written(let encoded):
                    appendLine(&out, name: name, separator: "=", encoded: encoded)
                case .refused(let reason):
                    throw refuse(reason)
                }
            case .shell:
                out.append(contentsOf: Array("export ".utf8))
                appendLine(&out, name: name, separator: "=", encoded: shellQuoted(variable.value))
            case .docker:
                if let reason = dockerProblem(name: name, value: variable.value) { throw refuse(reason) }
                appendLine(&out, name: name, separator: "=", encoded: variable.value)
            case .systemd:
                guard UTF8Bytes.isValid(variable.value) else {
                    throw refuse("the value is not valid UTF-8, which systemd EnvironmentFile= ignores")
                }
                appendLine(&out, name: name, separator: "=", encoded: systemdQuoted(variable.value))
            case .json:
                guard UTF8Bytes.isValid(variable.value) else {
                    throw refuse("the value is not valid UTF-8, which a JSON string cannot carry")
                }
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONString(&out, Array(name.utf8))
                out.append(UInt8(ascii: ":"))
                appendJSONString(&out, variable.value)
            }
        }
        if format == .json { out.append(contentsOf: [UInt8(ascii: "}"), 0x0A]) }
        return out
    }

    private static func appendLine(_ out: inout [UInt8], name: String, separator: String, encoded: [UInt8]) {
        out.append(contentsOf: Array(name.utf8))
        out.append(contentsOf: Array(separator.utf8))
        out.append(contentsOf: encoded)
        out.append(0x0A)
    }

    /// `'v'` with `'` as `'\''`: the shell has no escape inside single quotes,
    /// so each quote closes the string, adds an escaped quote, and reopens it.
    private static func shellQuoted(_ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "'")]
        out.reserveCapacity(value.count + 2)
        for byte in value {
            if byte == UInt8(ascii: "'") {
                out.append(contentsOf: Array("'\\''".utf8))
            } else {
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "'"))
        return out
    }

    /// Why docker's kvfile reader would not return `value` unchanged, or nil.
    private static func dockerProblem(name: String, value: [UInt8]) -> String? {
        if value.contains(0x0A) { return "the value contains a newline, which docker --env-file cannot carry" }
        // bufio.ScanLines drops a CR before the line end; refusing every CR
        // keeps the rule simple and the file free of stray line endings.
        if value.contains(0x0D) { return "the value contains a carriage return, which docker --env-file cannot carry" }
        if !UTF8Bytes.isValid(value) {
            return "the value is not valid UTF-8, which docker --env-file rejects"
        }
        // bufio.Scanner's default buffer is 64 KiB, newline included.
        let length = name.utf8.count + 1 + value.count
        if length > 65_535 {
            return "the line would be \(length) bytes, over the 65535 that docker --env-file reads"
        }
        if value.count >= 2, let first = value.first, first == value.last,
            first == UInt8(ascii: "'") || first == UInt8(ascii: "\"")
        {
            return "the value begins and ends with the same quote character, which newer docker --env-file releases strip and older ones keep"
        }
        return nil
    }

    /// `"v"` with `\` before each character in systemd's SHELL_NEED_ESCAPE
    /// (`"`, `\`, `` ` ``, `$`): systemd removes exactly those backslashes
    /// and keeps any other `\X` as two characters.
    private static func systemdQuoted(_ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(value.count + 2)
        for byte in value {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "`"), UInt8(ascii: "$"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    /// Appends a JSON string literal for valid UTF-8 `bytes` (RFC 8259 §7).
    private static func appendJSONString(_ out: inout [UInt8], _ bytes: [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

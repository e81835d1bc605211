// The dotenv encoder: the one format with four readers that disagree.
//
// The readers, as their sources read (see shared/reference/dotenv.md):
// - python-dotenv 1.2.2 (`dotenv_values`, interpolate on and off): opens the
//   file as UTF-8 text with universal newlines; single quotes still decode
//   `\\` and `\'`; double quotes decode `\\ \' \" \a \b \f \n \r \t \v`; with
//   interpolation on it expands `${NAME}` and `${NAME:-default}` in every
//   quoting style and offers no escape for it.
// - Node dotenv (the classic regex parser): turns every CR and CRLF into LF
//   before parsing; single quotes are literal; double quotes turn `\n`/`\r`
//   into LF/CR and keep every other backslash as written (`\"` stays `\"`);
//   an unquoted value ends at the first `#`; values are trimmed.
// - godotenv (1.5.1 and the 1.6 previews): CRLF becomes LF; single quotes
//   are literal but a `'` after a backslash does not close them; double quotes
//   turn `\n`/`\r` into LF/CR, drop the backslash of any other `\X` and expand
//   `$NAME`/`${NAME}`; unquoted values are trimmed and expanded.
// - compose-go (docker compose): no newline translation; inside either quote
//   `\'`/`\"` is the quote and a trailing backslash leaves the value
//   unterminated; double quotes decode Go-style escapes and expand `$`
//   (`$$`, `$NAME`, `${…}`); unquoted values expand `$` and end at ` #`.

/// What the dotenv writer does with one value: the bytes to put after
/// `NAME=`, or the reason no spelling reads back the same in all four readers.
enum DotenvEncoding {
    case written([UInt8])
    case refused(String)

    /// Readers named in refusals.
    static let readers = "python-dotenv, Node dotenv, godotenv and compose-go"

    /// Chooses the spelling for `value` (already checked for NUL). The table
    /// is documented on ``EnvironmentEncoder``; each rule below names the
    /// reader that forces it.
    static func encode(_ value: [UInt8]) -> DotenvEncoding {
        // python-dotenv decodes the whole file as UTF-8 and fails on anything
        // else; Node dotenv silently substitutes U+FFFD.
        guard UTF8Bytes.isValid(value) else {
            return .refused("the value is not valid UTF-8, which python-dotenv cannot decode and Node dotenv would replace")
        }
        // python-dotenv (interpolation on, its default) expands ${…} whatever
        // the quoting and has no escape that the other readers agree with.
        if containsPythonInterpolation(value) {
            return .refused(
                "the value contains ${…}, which python-dotenv expands in every quoting style when interpolation is on (its default)"
            )
        }

        let facts = Facts(value)
        let singleProblem = facts.singleQuoteProblem
        let doubleProblem = facts.doubleQuoteProblem

        // 1. Single quotes, one line: the portable subset, read literally by all.
        if singleProblem == nil && !facts.hasLineFeed {
            return .written(singleQuoted(value))
        }
        // 2. Double quotes with LF written `\n` and CR written `\r`: the only two
        //    escapes all four readers decode; a raw CR would not survive python
        //    or Node, and keeping the line single avoids multi-line quirks in old
        //    Node dotenv releases.
        if doubleProblem == nil {
            return .written(doubleQuoted(value))
        }
        // 3. Single quotes over several lines, for values with a newline that
        //    double quotes cannot hold (a `"`, `\` or `$`).
        if singleProblem == nil {
            return .written(singleQuoted(value))
        }
        // 4. Unquoted, for values that single quotes cannot hold only because
        //    of backslashes (`a\\b`), and only in a charset that a shell
        //    sourcing the file (`set -a; . .env`) reads as one plain word: an
        //    unquoted `;`, `|`, `&`, space or quote would let a value run a
        //    command there.
        let unquotedProblem = facts.unquotedProblem
        if unquotedProblem == nil {
            return .written(value)
        }
        return .refused(
            "no quoting reads it back the same in \(readers): "
                + "single quotes cannot hold \(singleProblem ?? "it"); "
                + "double quotes cannot hold \(doubleProblem ?? "it"); "
                + "unquoted cannot hold \(unquotedProblem ?? "it")"
        )
    }

    private static func singleQuoted(_ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "'")]
        out.reserveCapacity(value.count + 2)
        out.append(contentsOf: value)
        out.append(UInt8(ascii: "'"))
        return out
    }

    private static func doubleQuoted(_ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(value.count + 2)
        for byte in value {
            switch byte {
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    /// True if python-dotenv's `\$\{([^}:]*)(?::-([^}]*))?\}` matches
    /// anywhere. A `${` that this pattern does not complete (no closing `}`,
    /// or `${A:x}`) reaches python-dotenv unchanged and is carried.
    static func containsPythonInterpolation(_ value: [UInt8]) -> Bool {
        let dollar = UInt8(ascii: "$"), open = UInt8(ascii: "{"), close = UInt8(ascii: "}")
        let colon = UInt8(ascii: ":"), dash = UInt8(ascii: "-")
        var index = 0
        while index + 1 < value.count {
            defer { index += 1 }
            guard value[index] == dollar, value[index + 1] == open else { continue }
            var cursor = index + 2
            while cursor < value.count, value[cursor] != close, value[cursor] != colon { cursor += 1 }
            guard cursor < value.count else { continue }
            if value[cursor] == close { return true }
            // A colon: only `:-default}` completes the pattern.
            guard cursor + 1 < value.count, value[cursor + 1] == dash else { continue }
            cursor += 2
            while cursor < value.count, value[cursor] != close { cursor += 1 }
            if cursor < value.count { return true }
        }
        return false
    }

    /// The properties of a value that the four spellings depend on.
    private struct Facts {
        var hasSingleQuote = false
        var hasDoubleQuote = false
        var hasBackslash = false
        var hasDoubleBackslash = false
        var hasDollar = false
        var hasBacktick = false
        var hasShellSpecial = false
        var hasLineFeed = false
        var hasCarriageReturn = false
        var hasHash = false
        var hasControl = false
        var endsWithBackslash = false
        var startsWithQuote = false
        var edgeIsBlank = false

        init(_ value: [UInt8]) {
            var previous: UInt8 = 0
            for byte in value {
                switch byte {
                case UInt8(ascii: "'"): hasSingleQuote = true
                case UInt8(ascii: "\""): hasDoubleQuote = true
                case UInt8(ascii: "\\"):
                    hasBackslash = true
                    if previous == byte { hasDoubleBackslash = true }
                case UInt8(ascii: "$"): hasDollar = true
                case UInt8(ascii: "`"): hasBacktick = true
                case UInt8(ascii: "#"): hasHash = true
                case 0x0A: hasLineFeed = true
                case 0x0D: hasCarriageReturn = true
                case 0x09: break
                case 0x00..<0x20, 0x7F: hasControl = true
                default: break
                }
                if !Self.isShellWordByte(byte) { hasShellSpecial = true }
                previous = byte
            }
            endsWithBackslash = value.last == UInt8(ascii: "\\")
            if let first = value.first {
                startsWithQuote = first == UInt8(ascii: "'") || first == UInt8(ascii: "\"") || first == UInt8(ascii: "`")
            }
            if let first = UTF8Bytes.firstScalar(value), let last = UTF8Bytes.lastScalar(value) {
                edgeIsBlank = Self.isBlankOrControl(first) || Self.isBlankOrControl(last)
            }
            hasControl = hasControl || Self.hasWideControl(value)
        }

        /// Why `'value'` would not read back in all four readers, or nil.
        var singleQuoteProblem: String? {
            if hasSingleQuote { return "a ' (nothing can escape it inside single quotes for all readers)" }
            if hasCarriageReturn {
                return "a carriage return (python-dotenv and Node dotenv read a raw CR as a newline)"
            }
            if hasDoubleBackslash { return "two backslashes in a row (python-dotenv reads \\\\ there as one)" }
            if endsWithBackslash {
                return "a trailing backslash (python-dotenv and compose-go read \\' as an escaped quote)"
            }
            return nil
        }

        /// Why `"value"` (LF as `\n`, CR as `\r`) would not read back, or nil.
        var doubleQuoteProblem: String? {
            if hasDoubleQuote { return "a \" (Node dotenv keeps the backslash of \\\")" }
            if hasBackslash { return "a backslash (each reader unescapes \\ differently)" }
            if hasDollar { return "a $ (compose-go and godotenv expand it and Node dotenv keeps \\$ as written)" }
            if hasBacktick { return "a ` (a shell sourcing the file would run it as a command)" }
            return nil
        }

        /// Why `NAME=value` would not read back, or nil.
        var unquotedProblem: String? {
            if hasLineFeed || hasCarriageReturn { return "a line break" }
            if hasHash { return "a # (Node dotenv starts a comment at any #)" }
            if hasDollar { return "a $ (compose-go and godotenv expand it)" }
            if startsWithQuote { return "a leading quote (the readers take it as the start of a quoted value)" }
            if hasControl { return "a control character" }
            if edgeIsBlank { return "leading or trailing whitespace (every reader trims it)" }
            if hasShellSpecial {
                return "characters other than letters, digits, _-.,/:@%+=^ and \\ (a shell sourcing the file could run or expand them)"
            }
            return nil
        }

        /// The bytes an unquoted dotenv value may hold: a shell reads a run
        /// of them after `NAME=` as one literal word (a `\` just quotes the
        /// next of them), with no expansion, redirection or command.
        static func isShellWordByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: "/"), UInt8(ascii: ":"),
                 UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: "^"), UInt8(ascii: "\\"): true
            default: false
            }
        }

        /// Whitespace as any of the readers trims it: Python's `str.isspace`
        /// (which adds U+001C–U+001F), JavaScript's `trim` (which adds
        /// U+FEFF), Go's `unicode.IsSpace`; plus controls and invisible
        /// separators that some older Unicode tables counted as spaces.
        private static func isBlankOrControl(_ scalar: Unicode.Scalar) -> Bool {
            let value = scalar.value
            if value < 0x20 || (0x7F...0x9F).contains(value) { return true }
            if scalar.properties.isWhitespace { return true }
            return value == 0xFEFF || value == 0x180E || value == 0x200B
        }

        /// C1 controls and the JavaScript line terminators U+2028/U+2029,
        /// which Node dotenv's multi-line regex treats as line ends.
        private static func hasWideControl(_ value: [UInt8]) -> Bool {
            var index = 0
            while index + 1 < value.count {
                // U+0080–U+009F are C2 80–C2 9F.
                if value[index] == 0xC2, (0x80...0x9F).contains(value[index + 1]) { return true }
                // U+2028/U+2029 are E2 80 A8 / E2 80 A9.
                if value[index] == 0xE2, index + 2 < value.count, value[index + 1] == 0x80,
                    value[index + 2] == 0xA8 || value[index + 2] == 0xA9
                {
                    return true
                }
                index += 1
            }
            return false
        }
    }
}

// The dotenv encoder: the one format with many readers that disagree.
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
// - Ruby dotenv (bkeepers/dotenv; Rails loads `.env` with it):
//   2.4 (Debian's ruby-dotenv) splits the file at every CR and LF before
//   parsing, so a raw line break inside quotes ends the value and the rest
//   is read as new lines (new variables, `$(cmd)` run). 2.4 and 2.8 turn
//   `\n`/`\r` in double quotes into LF/CR; 3.x keeps them as two characters.
//   All drop the backslash of `\X` in double quotes and expand `$NAME`,
//   `${NAME}` and run `$(cmd)` outside single quotes; 2.8 and 3.x also drop
//   backslashes from unquoted values. Single quotes are literal.

/// What the dotenv writer does with one value: the bytes to put after
/// `NAME=`, or the reason no spelling reads back the same in all the readers.
enum DotenvEncoding {
    case written([UInt8])
    case refused(String)

    /// Readers named in refusals.
    static let readers = "python-dotenv, Node dotenv, godotenv, compose-go and Ruby dotenv"

    /// Chooses the spelling for `value` (already checked for NUL). The table
    /// is documented on ``EnvironmentEncoder``; each rule below names the
    /// reader that forces it.
    ///
    /// Every spelling keeps the value on its own physical line: a raw line
    /// break inside quotes is where line-based readers (Ruby dotenv 2.4) stop
    /// the value and read the rest as new assignments.
    ///
    /// - Parameter multiline: Whether a value with a line break may be written
    ///   with `\n`/`\r` escapes, which Ruby dotenv 3.x reads as two characters.
    static func encode(_ value: [UInt8], multiline: Bool = false) -> DotenvEncoding {
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

        if facts.hasLineFeed || facts.hasCarriageReturn {
            // Ruby dotenv 2.4 reads a file line by line, so a line break must
            // be written as an escape; Ruby dotenv 3.x decodes no escape.
            guard multiline else {
                return .refused(
                    "the value has a line break, which no spelling carries in every reader "
                        + "(Ruby dotenv 2.4 reads line by line, Ruby dotenv 3.x keeps \\n as two characters); "
                        + "export with --multiline to write it as \\n for the readers that decode it"
                )
            }
            if let doubleProblem {
                return .refused(
                    "the value has a line break, which only double quotes carry (as \\n), and double quotes cannot hold \(doubleProblem)"
                )
            }
            return .written(doubleQuoted(value))
        }
        // 1. Single quotes: the portable subset, read literally by all.
        if singleProblem == nil {
            return .written(singleQuoted(value))
        }
        // 2. Double quotes, for values that single quotes cannot hold (a `'`).
        if doubleProblem == nil {
            return .written(doubleQuoted(value))
        }
        return .refused(
            "no quoting reads it back the same in \(readers): "
                + "single quotes cannot hold \(singleProblem ?? "it"); "
                + "double quotes cannot hold \(doubleProblem ?? "it")"
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

    /// The properties of a value that the quoted spellings depend on.
    private struct Facts {
        var hasSingleQuote = false
        var hasDoubleQuote = false
        var hasBackslash = false
        var hasDoubleBackslash = false
        var hasDollar = false
        var hasBacktick = false
        var hasLineFeed = false
        var hasCarriageReturn = false
        var endsWithBackslash = false

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
                case 0x0A: hasLineFeed = true
                case 0x0D: hasCarriageReturn = true
                default: break
                }
                previous = byte
            }
            endsWithBackslash = value.last == UInt8(ascii: "\\")
        }

        /// Why `'value'` would not read back in every reader, or nil.
        var singleQuoteProblem: String? {
            if hasSingleQuote { return "a ' (nothing can escape it inside single quotes for all readers)" }
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
            if hasDollar { return "a $ (compose-go, godotenv and Ruby dotenv expand it and Node dotenv keeps \\$ as written)" }
            if hasBacktick { return "a ` (a shell sourcing the file would run it as a command)" }
            return nil
        }
    }
}

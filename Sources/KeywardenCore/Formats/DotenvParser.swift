/// One assignment read from a `.env` file.
public struct DotenvEntry: Sendable, Equatable {
    /// The variable name, `[A-Za-z_][A-Za-z0-9_]*`.
    public var name: String
    /// The value's bytes, after quotes and escapes are removed.
    public var value: [UInt8]
    /// The 1-based line on which the assignment starts.
    public var line: Int

    /// Creates an entry.
    public init(name: String, value: [UInt8], line: Int) {
        self.name = name
        self.value = value
        self.line = line
    }
}

/// Reads existing `.env` files for `keywarden import`.
///
/// The syntax is the common ground of the dotenv libraries, so that a file
/// written for any of them imports as its author meant, and anything written by
/// ``EnvironmentEncoder`` in the `dotenv` format reads back exactly:
///
/// - An optional UTF-8 byte order mark at the start is skipped (Windows
///   editors write one; python-dotenv and godotenv would choke on it).
/// - Lines end in LF or CRLF; inside quotes a CRLF reads as LF, as in
///   python-dotenv and godotenv, so a file saved on Windows gives the same
///   values.
/// - Blank lines and lines whose first non-blank character is `#` are skipped.
/// - `export NAME=…` is accepted (shell-style files, all dotenv readers).
/// - Spaces and tabs may surround `=`.
/// - Unquoted values run to the end of the line; a `#` preceded by a space or
///   tab starts a comment (python-dotenv, godotenv, compose-go; so
///   `KEY=a#b` is `a#b` and `KEY= # note` is empty) and trailing spaces and
///   tabs are dropped.
/// - `'…'` is literal and may span lines (Node dotenv, godotenv, systemd).
/// - `"…"` may span lines and decodes `\n \r \t \\ \" \' \$ \a \b \f \v` and
///   `` \` ``; any other backslash is kept as written (python-dotenv, systemd).
/// - After a closing quote only blanks and a `#` comment may follow.
///
/// There is no interpolation: `$NAME` and `${NAME}` are kept as written,
/// because an import must store what the file says, not whatever the
/// importing machine's environment happens to hold.
///
/// A name set twice is an error naming both lines: the readers disagree on
/// which wins, and silently dropping one value on import loses a secret.
public enum DotenvParser {
    /// Parses `bytes`, the contents of the file called `file` (used only in
    /// error messages), into entries in file order.
    ///
    /// - Throws: ``DotenvSyntaxError`` at the first malformed line, with its
    ///   line and column and what was expected there; the message never
    ///   contains the file's text.
    public static func parse(_ bytes: [UInt8], file: String) throws(DotenvSyntaxError) -> [DotenvEntry] {
        var reader = Reader(bytes: bytes, file: file)
        return try reader.parse()
    }
}

/// The parser's cursor over the file's bytes, tracking lines for errors.
private struct Reader {
    let bytes: [UInt8]
    let file: String
    var offset = 0
    var line = 1
    var lineStart = 0

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        if UTF8Bytes.matches(bytes, [0xEF, 0xBB, 0xBF], at: 0) {
            offset = 3
            lineStart = 3
        }
    }

    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
    private static let lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
    private static let hash = UInt8(ascii: "#"), equals = UInt8(ascii: "=")
    private static let singleQuote = UInt8(ascii: "'"), doubleQuote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    var atEnd: Bool { offset >= bytes.count }
    var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    /// True at LF, at CRLF, or at the end of the file.
    var atLineEnd: Bool {
        guard let byte = current else { return true }
        return byte == Self.lf || (byte == Self.cr && UTF8Bytes.matches(bytes, [Self.cr, Self.lf], at: offset))
    }

    func error(at position: Int, line errorLine: Int? = nil, lineStart start: Int? = nil, expected: String)
        -> DotenvSyntaxError
    {
        let from = start ?? lineStart
        return DotenvSyntaxError(
            file: file, line: errorLine ?? line,
            column: UTF8Bytes.scalarCount(bytes, from..<max(from, position)) + 1,
            expected: expected)
    }

    mutating func skipBlanks() {
        while let byte = current, byte == Self.space || byte == Self.tab { offset += 1 }
    }

    /// Consumes a line end (LF or CRLF) if there is one.
    mutating func consumeLineEnd() {
        guard let byte = current else { return }
        if byte == Self.cr { offset += 1 }
        if current == Self.lf {
            offset += 1
            line += 1
            lineStart = offset
        }
    }

    mutating func skipToLineEnd() {
        while !atLineEnd { offset += 1 }
    }

    mutating func parse() throws(DotenvSyntaxError) -> [DotenvEntry] {
        var entries: [DotenvEntry] = []
        var firstLine: [String: Int] = [:]
        while true {
            skipBlanks()
            if atEnd { return entries }
            if atLineEnd {
                consumeLineEnd()
                continue
            }
            if current == Self.hash {
                skipToLineEnd()
                consumeLineEnd()
                continue
            }
            let entryLine = line
            let entryLineStart = lineStart
            skipExportPrefix()
            let nameStart = offset
            let name = try readName()
            if let previous = firstLine[name] {
                throw error(
                    at: nameStart, line: entryLine, lineStart: entryLineStart,
                    expected: "\(name) to be set only once (it is already set on line \(previous))")
            }
            skipBlanks()
            guard current == Self.equals else {
                throw error(at: offset, expected: "'=' after the variable name \(name)")
            }
            offset += 1
            skipBlanks()
            let value = try readValue(name: name)
            firstLine[name] = entryLine
            entries.append(DotenvEntry(name: name, value: value, line: entryLine))
        }
    }

    /// Skips `export` and the blanks after it, when followed by a name
    /// (`export=1` assigns a variable called `export`).
    mutating func skipExportPrefix() {
        let keyword = Array("export".utf8)
        guard UTF8Bytes.matches(bytes, keyword, at: offset) else { return }
        var cursor = offset + keyword.count
        guard cursor < bytes.count, bytes[cursor] == Self.space || bytes[cursor] == Self.tab else { return }
        while cursor < bytes.count, bytes[cursor] == Self.space || bytes[cursor] == Self.tab { cursor += 1 }
        guard cursor < bytes.count, bytes[cursor] != Self.equals else { return }
        offset = cursor
    }

    mutating func readName() throws(DotenvSyntaxError) -> String {
        let start = offset
        guard let first = current, PortableVariableName.isNameStart(first) else {
            throw error(at: offset, expected: "a variable name (a letter or _, then letters, digits or _)")
        }
        offset += 1
        while let byte = current, PortableVariableName.isNameContinue(byte) { offset += 1 }
        if !atLineEnd, let byte = current, byte != Self.equals, byte != Self.space, byte != Self.tab {
            // A character such as '-' or '.' inside the name: say where.
            throw error(at: offset, expected: "'=' after the variable name (names are letters, digits and _)")
        }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    mutating func readValue(name: String) throws(DotenvSyntaxError) -> [UInt8] {
        switch current {
        case Self.singleQuote?:
            let value = try readQuoted(name: name, quote: Self.singleQuote, escapes: false)
            try finishQuotedLine()
            return value
        case Self.doubleQuote?:
            let value = try readQuoted(name: name, quote: Self.doubleQuote, escapes: true)
            try finishQuotedLine()
            return value
        default:
            return readUnquoted()
        }
    }

    /// Reads an unquoted value: to the line end, minus a comment that starts
    /// at a `#` after a blank, minus trailing blanks.
    mutating func readUnquoted() -> [UInt8] {
        let start = offset
        var end = offset
        while !atLineEnd {
            let byte = bytes[offset]
            if byte == Self.hash, offset > lineStart,
                bytes[offset - 1] == Self.space || bytes[offset - 1] == Self.tab
            {
                skipToLineEnd()
                break
            }
            offset += 1
            end = offset
        }
        while end > start, bytes[end - 1] == Self.space || bytes[end - 1] == Self.tab { end -= 1 }
        consumeLineEnd()
        return Array(bytes[start..<end])
    }

    /// Reads a quoted value that may span lines; the cursor is on the
    /// opening quote.
    mutating func readQuoted(name: String, quote: UInt8, escapes: Bool) throws(DotenvSyntaxError) -> [UInt8] {
        let openOffset = offset, openLine = line, openLineStart = lineStart
        offset += 1
        var value: [UInt8] = []
        while let byte = current {
            if byte == quote {
                offset += 1
                return value
            }
            if byte == Self.cr, UTF8Bytes.matches(bytes, [Self.cr, Self.lf], at: offset) {
                offset += 1
                continue
            }
            if byte == Self.lf {
                value.append(byte)
                offset += 1
                line += 1
                lineStart = offset
                continue
            }
            if escapes, byte == Self.backslash, offset + 1 < bytes.count {
                let next = bytes[offset + 1]
                if let decoded = Self.decodeEscape(next) {
                    value.append(decoded)
                    offset += 2
                    continue
                }
                // Unknown escape: keep the backslash; the next byte is read
                // normally (it may be a newline to count).
                value.append(byte)
                offset += 1
                continue
            }
            value.append(byte)
            offset += 1
        }
        let quoteName = quote == Self.singleQuote ? "'" : "\""
        throw error(
            at: openOffset, line: openLine, lineStart: openLineStart,
            expected: "a closing \(quoteName) for the value of \(name) (the quote opened here is never closed)")
    }

    static func decodeEscape(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "a"): 0x07
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "v"): 0x0B
        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "$"), UInt8(ascii: "`"): byte
        default: nil
        }
    }

    /// After a closing quote: blanks, an optional comment, the line end.
    mutating func finishQuotedLine() throws(DotenvSyntaxError) {
        skipBlanks()
        if current == Self.hash { skipToLineEnd() }
        guard atLineEnd else {
            throw error(at: offset, expected: "the end of the line or a # comment after the closing quote")
        }
        consumeLineEnd()
    }
}

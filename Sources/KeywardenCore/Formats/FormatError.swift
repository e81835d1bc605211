/// A value or name that an export format cannot carry faithfully.
///
/// Keywarden refuses rather than writing a value the reader would change. The
/// message names the variable and the format and says why, but never contains
/// the value: values are secrets and errors end up in terminals and logs.
public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable that could not be written.
    public let variable: String
    /// The format it was being written in.
    public let format: ExportFormat
    /// Why the format's reader cannot carry it, e.g. "the value contains a
    /// newline, which docker --env-file cannot carry".
    public let reason: String

    /// Creates a refusal for `variable` in `format`.
    public init(variable: String, format: ExportFormat, reason: String) {
        self.variable = variable
        self.format = format
        self.reason = reason
    }

    /// Shows a variable name in a message. A name that is not a plain
    /// identifier is quoted with escapes, so a control character in a bad
    /// name cannot forge extra lines in the terminal.
    static func display(_ name: String) -> String {
        PortableVariableName.isPortable(name) ? name : name.debugDescription
    }

    /// `cannot write NAME in FORMAT format: REASON`.
    public var description: String {
        "cannot write \(Self.display(variable)) in \(format.rawValue) format: \(reason)"
    }
}

/// Text that cannot be read: a line of a `.env` file (``DotenvParser``) or a
/// malformed `{{ kw://… }}` reference in a template (``TemplateRenderer``).
///
/// Points at the exact place (1-based line and column, columns counted in
/// Unicode scalars) and says what was expected there. It never echoes the
/// text itself, because that text is usually a secret.
public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file or template name as given by the caller, for the message.
    public let file: String
    /// 1-based line of the problem.
    public let line: Int
    /// 1-based column of the problem, in Unicode scalars.
    public let column: Int
    /// What the parser expected at that place, e.g. "'=' after the variable name".
    public let expected: String

    /// Creates a syntax error at `file:line:column`.
    public init(file: String, line: Int, column: Int, expected: String) {
        self.file = file
        self.line = line
        self.column = column
        self.expected = expected
    }

    /// `FILE:LINE:COLUMN: expected …`.
    public var description: String {
        "\(file):\(line):\(column): expected \(expected)"
    }
}

/// A line of a `.env` file that ``DotenvParser`` cannot read.
public typealias DotenvSyntaxError = SyntaxError

/// A malformed `{{ kw://… }}` reference in a template.
public typealias TemplateError = SyntaxError

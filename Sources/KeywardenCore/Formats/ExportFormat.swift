/// The file formats `keywarden export` writes.
///
/// Each format is defined by the real program that reads it, not by a
/// specification: a value must read back byte for byte in that program, and a
/// value it cannot carry is refused (see ``EnvironmentEncoder``).
public enum ExportFormat: String, CaseIterable, Sendable {
    /// A `.env` file that python-dotenv, Node dotenv, godotenv, compose-go and
    /// Ruby dotenv (2.4 to 3.x) all read the same way; values with a line
    /// break are refused.
    case dotenv
    /// `dotenv`, plus values with a line break written as `\n`/`\r` in double
    /// quotes (`export --multiline`): exact in the same readers except Ruby
    /// dotenv 3.x, which reads `\n` as two characters.
    case dotenvMultiline = "dotenv-multiline"
    /// `export NAME='value'` lines for `. file` in bash or dash.
    case shell
    /// `NAME=value` lines for `docker run --env-file`.
    case docker
    /// `NAME="value"` lines for systemd's `EnvironmentFile=`.
    case systemd
    /// One JSON object whose members are strings, in the given order.
    case json

    /// The reader named in refusals, so the user learns which program would
    /// have mangled the value.
    var readerName: String {
        switch self {
        case .dotenv, .dotenvMultiline: "the dotenv readers"
        case .shell: "a POSIX shell"
        case .docker: "docker --env-file"
        case .systemd: "systemd EnvironmentFile="
        case .json: "JSON"
        }
    }
}

/// The file formats `keywarden export` writes.
///
/// Each format is defined by the real program that reads it, not by a
/// specification: a value must read back byte for byte in that program, and a
/// value it cannot carry is refused (see ``EnvironmentEncoder``).
public enum ExportFormat: String, CaseIterable, Sendable {
    /// A `.env` file that python-dotenv, Node dotenv, godotenv and compose-go
    /// all read the same way.
    case dotenv
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
        case .dotenv: "the dotenv readers"
        case .shell: "a POSIX shell"
        case .docker: "docker --env-file"
        case .systemd: "systemd EnvironmentFile="
        case .json: "JSON"
        }
    }
}

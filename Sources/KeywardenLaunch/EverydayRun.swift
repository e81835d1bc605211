/// `run --scope S [--only A,B] [--clean] -- CMD …`: the form of `run` the
/// launcher serves through the agent itself. Every other form — another
/// option (`--env-file`, `--gateway`, `--mask`, `--keyfile`, …), an
/// `--only` with anything but names, commas and spaces — is nil, and the
/// full command line reads it.
public struct EverydayRun: Sendable, Equatable {
    public var scope: String
    /// The names of `--only` (split at commas, spaces around names dropped), nil without it.
    public var only: [String]?
    public var clean: Bool
    public var command: [String]

    public init?(_ arguments: [String]) {
        guard arguments.first == "run", let terminator = arguments.firstIndex(of: "--"), terminator + 1 < arguments.count,
              let options = EverydayArguments.parse(arguments[1..<terminator], allowed: ["--scope", "--only"], flags: ["--clean"]),
              let scope = options["--scope"] else { return nil }
        if let text = options["--only"] {
            let plain = text.utf8.allSatisfy { byte in
                ",_ ".utf8.contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte)
            }
            guard plain else { return nil }
            let names = text.split(separator: ",").map(Self.trimmingSpaces).filter { !$0.isEmpty }
            guard !names.isEmpty, names.allSatisfy(EnvironmentVariableName.isValid) else { return nil }
            only = names
        } else {
            only = nil
        }
        self.scope = scope
        clean = options.flags.contains("--clean")
        command = Array(arguments[(terminator + 1)...])
    }

    /// Spaces around a name dropped. (Walking the indices: the generic
    /// `String(reversed…)` form made the runtime instantiate three nested
    /// collection types, a tenth of the launcher's `run`.)
    static func trimmingSpaces(_ part: Substring) -> String {
        var part = part
        while part.first == " " { part.removeFirst() }
        while part.last == " " { part.removeLast() }
        return String(part)
    }
}

/// The options of a command line in its everyday form, read without
/// ArgumentParser: only `--name value`, `--name=value` and `--flag`, each
/// at most once, with a plain value. Anything else (short or unknown
/// options, repeats, values starting with `-`, empty values) gives nil, and
/// the command line goes to ArgumentParser, which answers it as always.
/// Shared by the launcher and the full command line's `EverydayForms`.
public struct EverydayArguments: Sendable {
    public private(set) var values: [String: String] = [:]
    public private(set) var flags: Set<String> = []

    public subscript(_ name: String) -> String? { values[name] }

    public static func parse(_ tokens: ArraySlice<String>, allowed: Set<String>, flags allowedFlags: Set<String>) -> EverydayArguments? {
        var options = EverydayArguments()
        var index = tokens.startIndex
        while index < tokens.endIndex {
            let token = tokens[index]
            index += 1
            if allowedFlags.contains(token) {
                guard options.flags.insert(token).inserted else { return nil }
                continue
            }
            let name: String, value: String
            if let equals = token.firstIndex(of: "=") {
                (name, value) = (String(token[..<equals]), String(token[token.index(after: equals)...]))
            } else {
                guard index < tokens.endIndex else { return nil }
                (name, value) = (token, tokens[index])
                index += 1
            }
            guard allowed.contains(name), !value.isEmpty, !value.hasPrefix("-"), options[name] == nil else { return nil }
            options.values[name] = value
        }
        return options
    }
}

import KeywardenLaunch

/// Validation of the names users type. Rules are strict so that names survive
/// every export format and every shell without quoting.
public enum Names {
    /// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most 128 bytes.
    public static func isEnvironmentVariable(_ name: String) -> Bool {
        EnvironmentVariableName.isValid(name)
    }

    /// A scope: segments of `[a-z0-9][a-z0-9._-]*` joined by `/` (`prod`, `team/app`).
    public static func isScope(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 128 else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { segment in
            let bytes = Array(segment.utf8)
            guard let first = bytes.first, isLowerAlnum(first) else { return false }
            return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
        }
    }

    /// A provider name: `[a-z0-9][a-z0-9-]*`, at most 64 bytes.
    public static func isProvider(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 64, isLowerAlnum(first) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// A label: printable, no control characters, 1–128 bytes.
    public static func isLabel(_ label: String) -> Bool {
        !label.isEmpty && label.utf8.count <= 128 && label.unicodeScalars.allSatisfy { !$0.properties.generalCategory.isControl }
    }

    static func require(_ ok: Bool, _ what: String, _ name: String, _ rule: String) throws(KeywardenError) {
        if !ok { throw .invalidName(what, name, rule) }
    }

    static let scopeRule = "use lower-case letters, digits, '.', '_' and '-', with '/' between parts (e.g. prod, team/app)"
    static let envRule = "use letters, digits and '_', not starting with a digit (e.g. OPENAI_API_KEY)"
    static let providerRule = "use lower-case letters, digits and '-' (e.g. my-gateway)"

    private static func isLetterOrUnderscore(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95
    }
    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || isDigit(c) }
}

extension Unicode.GeneralCategory {
    var isControl: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }
}

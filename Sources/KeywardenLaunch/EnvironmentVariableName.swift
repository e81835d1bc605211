/// An environment variable name as Keywarden accepts it:
/// `[A-Za-z_][A-Za-z0-9_]*`, at most 128 bytes — a name every export format
/// and every shell carries without quoting. (`Names.isEnvironmentVariable`
/// in KeywardenCore is this rule; it lives here for the launcher.)
public enum EnvironmentVariableName {
    public static func isValid(_ name: String) -> Bool {
        var count = 0
        for byte in name.utf8 {
            count += 1
            let letterOrUnderscore = (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95
            let digit = byte >= 48 && byte <= 57
            guard count <= 128, letterOrUnderscore || (digit && count > 1) else { return false }
        }
        return count > 0
    }
}

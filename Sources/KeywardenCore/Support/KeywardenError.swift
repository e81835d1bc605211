/// The one error type users see. Each has a kind (which picks the exit code)
/// and a message that names the culprit and says what to do next. Messages
/// never contain a secret value: callers pass names, ids and paths only.
public struct KeywardenError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable, Equatable {
        /// Bad input: unknown provider or scope, malformed name, refused value.
        case invalidInput
        /// A named thing does not exist.
        case notFound
        /// The operation conflicts with the vault's state (duplicate label, last keyslot).
        case conflict
        /// The vault could not be unlocked (wrong passphrase or keyfile, no credentials).
        case locked
        /// Stored data failed an integrity check, or the file is not a usable vault.
        case integrity
        /// A key check against its provider did not come back valid.
        case validationFailed
        /// The operation failed for another reason (I/O, a failing command).
        case failed
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// The process exit code for this error; documented in docs/commands.md.
    public var exitCode: Int32 {
        switch kind {
        case .failed: ExitCode.failure
        case .invalidInput, .notFound, .conflict: ExitCode.invalidInput
        case .locked: ExitCode.locked
        case .integrity: ExitCode.integrity
        case .validationFailed: ExitCode.validationFailed
        }
    }
}

/// Exit codes, few and distinct. 64 (usage) comes from swift-argument-parser.
public enum ExitCode {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let invalidInput: Int32 = 2
    public static let locked: Int32 = 3
    public static let integrity: Int32 = 4
    public static let validationFailed: Int32 = 5
    /// Some keys could not be checked (network, proxy, TLS, a failing
    /// provider) and none was found bad; 5 wins when both happen.
    public static let couldNotCheck: Int32 = 6
    /// `validate --warn-below`: every key checked works, but at least one
    /// balance is below the amount; 5 and 6 win when they happen.
    public static let balanceLow: Int32 = 7
    public static let usage: Int32 = 64
}

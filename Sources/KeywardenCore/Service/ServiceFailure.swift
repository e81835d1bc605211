/// An operation's failure as the agent sends it: the message the user sees
/// and the error's kind, so the client throws the same ``KeywardenError``
/// (and exits with the same code) as the vault in-process would have.
public struct ServiceFailure: Codable, Sendable {
    public var error: String
    /// Absent in answers that are not an operation's (a 403 for a token).
    public var kind: KeywardenError.Kind?

    public init(error: String, kind: KeywardenError.Kind?) {
        self.error = error
        self.kind = kind
    }
}

/// Operations on agent tokens (create, list, revoke).
public enum Tokens {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

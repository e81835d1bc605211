/// Operations on the vault's status.
public enum Overview {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

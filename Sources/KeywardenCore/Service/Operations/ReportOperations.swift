/// Operations on a client's report that a key failed.
public enum Reports {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

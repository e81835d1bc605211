/// Operations on the audit trail (events, verify).
public enum Audit {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

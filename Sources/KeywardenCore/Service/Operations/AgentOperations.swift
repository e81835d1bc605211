/// Operations on the agent itself (lock).
public enum AgentControl {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

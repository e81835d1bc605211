/// Operations on rotation (plan, run, policies).
public enum Rotation {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

/// Operations on scopes (add, list, remove).
public enum Scopes {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

/// Operations on providers (list, show, add, set, remove).
public enum Providers {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

/// Operations on config entries (set, get, list, unset).
public enum Config {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

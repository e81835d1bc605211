/// Operations on delivery (a scope's environment and variable names, exported files, templates, import).
public enum Delivery {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

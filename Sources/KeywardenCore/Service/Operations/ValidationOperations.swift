/// Operations on key checks (validate, doctor).
public enum Validation {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

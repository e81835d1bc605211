/// Operations on keyslots (list, add, remove) and passphrase changes.
public enum Keyslots {
    /// This area's operations, served by the agent (see ServiceOperations).
    public static let operations: [any ServiceOperation.Type] = []
}

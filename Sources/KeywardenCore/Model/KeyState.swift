/// A key's place in its pool's life cycle: `pending → active → retiring →
/// revoked`, plus `standby` (ready to take over) and `failed` (known bad).
public enum KeyState: String, Codable, Sendable, CaseIterable {
    case pending, active, standby, retiring, revoked, failed
}

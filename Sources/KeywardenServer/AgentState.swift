import KeywardenCore

/// The agent's hold on the vault. `lock()` drops the unlocked vault, whose
/// keys live in `sodium_malloc` memory that is wiped when released; every
/// later request is answered "locked".
public actor AgentState {
    private var vault: Vault?
    public let startedAt = Timestamp.now()

    public init(vault: Vault) { self.vault = vault }

    /// The unlocked vault, or nil once locked.
    public var current: Vault? { vault }

    public var isLocked: Bool { vault == nil }

    public func lock() { vault = nil }
}

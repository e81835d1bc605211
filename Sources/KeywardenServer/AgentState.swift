import KeywardenCore
import NIOConcurrencyHelpers

/// The agent's hold on the vault. `lock()` drops the unlocked vault, whose
/// keys live in `sodium_malloc` memory that is wiped when released; every
/// later request is answered "locked". A lock, not an actor: every request
/// reads it, and an actor hop per request costs more than the read.
public final class AgentState: Sendable {
    private let vault: NIOLockedValueBox<Vault?>
    public let startedAt = Timestamp.now()
    /// Active keys already decrypted, valid while the vault file is unchanged.
    let cache: ActiveKeyCache

    public init(vault: Vault) {
        self.vault = NIOLockedValueBox(vault)
        cache = ActiveKeyCache(location: vault.database.location)
    }

    /// The unlocked vault, or nil once locked.
    public var current: Vault? { vault.withLockedValue { $0 } }

    public var isLocked: Bool { current == nil }

    public func lock() {
        cache.clear()
        vault.withLockedValue { $0 = nil }
    }
}

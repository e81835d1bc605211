import KeywardenCore
import NIOConcurrencyHelpers

/// The agent's hold on the vault. A lock, not an actor: every request reads
/// it, and an actor hop per request costs more than the read.
///
/// `lock()` stops serving at once (every later request is answered
/// "locked") and signals `runAgent`, which shuts the server down and returns
/// `.locked`; `keywarden serve` then replaces the process image with a locked
/// agent (`execve`), because dropping references cannot prove that no copy of
/// the master key or of a served value is left in the heap (NIO buffers,
/// decoded requests, freed allocations). After `execve` none is.
public final class AgentState: Sendable {
    private let vault: NIOLockedValueBox<Vault?>
    public let startedAt = Timestamp.now()
    /// Active keys already decrypted, valid while the vault is unchanged
    /// (its WAL file, or the PostgreSQL change feed).
    let cache: ActiveKeyCache
    private let lockSignal: AsyncStream<Void>
    private let lockContinuation: AsyncStream<Void>.Continuation

    /// An agent serving `vault`, or (nil) a locked agent that serves nothing.
    public init(vault: Vault?) {
        self.vault = NIOLockedValueBox(vault)
        cache = ActiveKeyCache(location: vault?.database?.location, changes: vault?.postgres?.changes)
        // Listening before anything is cached, so no change is missed.
        vault?.postgres?.changes.start()
        (lockSignal, lockContinuation) = AsyncStream.makeStream(of: Void.self)
        if vault == nil { lockContinuation.finish() }
    }

    /// The unlocked vault, or nil once locked.
    public var current: Vault? { vault.withLockedValue { $0 } }

    public var isLocked: Bool { current == nil }

    /// Stops serving values and asks the agent to shut down for re-execution.
    public func lock() {
        vault.withLockedValue { vault in
            vault?.flushAnchor()  // the agent paces anchor writes; leave none behind
            vault = nil
        }
        cache.clear()
        lockContinuation.finish()
    }

    /// Returns once `lock()` was called (at once for a locked agent).
    func waitUntilLocked() async {
        for await _ in lockSignal {}
    }
}

import KeywardenCore
import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// The agent's audit events, written before the answers they describe: a
/// value leaves the agent only once the event that records it is durable
/// (DESIGN.md, invariant 8), and when the trail cannot be written nothing is
/// served (503), as Vault does.
///
/// Group commit keeps that cheap: `record` adds its events to the pending
/// batch and waits. One writer at a time commits everything pending in one
/// transaction on NIO's blocking-I/O pool; events that arrive meanwhile wait
/// for the next commit, which starts as soon as the current one ends. So a
/// busy agent does one transaction (one fsync) per batch, not per request,
/// and no request hops through an actor: appending takes a lock for a moment.
/// Within a batch, identical events (the same client pid, key and purpose — a
/// program reading its key in a loop) become one that says how many times and
/// between which instants.
public final class AuditJournal: Sendable {
    private struct Entry {
        var draft: AuditDraft
        var count: Int
        var last: Timestamp
    }

    private struct Pending {
        var order: [String] = []
        var events: [String: Entry] = [:]
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var committing = false
    }

    private let pending = NIOLockedValueBox(Pending())
    private let state: AgentState
    private let logger: Logger
    private let pool: NIOThreadPool

    public init(state: AgentState, logger: Logger, pool: NIOThreadPool = .singleton) {
        self.state = state
        self.logger = logger
        self.pool = pool
    }

    /// Records `drafts` and returns once they are committed. Throws
    /// `KeywardenError.auditUnavailable` (503) when they could not be written and
    /// `KeywardenError.agentLocked` (423) when the vault was locked first: the caller then
    /// serves nothing.
    public func record(_ drafts: [AuditDraft]) async throws {
        guard !drafts.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startWriter = pending.withLockedValue { pending -> Bool in
                for draft in drafts { Self.add(draft, to: &pending) }
                pending.waiters.append(continuation)
                if pending.committing { return false }
                pending.committing = true
                return true
            }
            if startWriter { pool.submit { [self] _ in commitUntilEmpty() } }
        }
    }

    /// Adds an event to the next commit without waiting for it: for events
    /// that release no value (a refusal), whose request need not pay for a commit.
    public func post(_ draft: AuditDraft) {
        let startWriter = pending.withLockedValue { pending -> Bool in
            Self.add(draft, to: &pending)
            if pending.committing { return false }
            pending.committing = true
            return true
        }
        if startWriter { pool.submit { [self] _ in commitUntilEmpty() } }
    }

    /// Records one event; see `record(_:)`.
    public func record(_ draft: AuditDraft) async throws {
        try await record([draft])
    }

    private static func add(_ draft: AuditDraft, to pending: inout Pending) {
        var draft = draft
        let now = draft.at ?? .now()
        draft.at = now
        let key = [draft.action, draft.provider ?? "", draft.scope ?? "", draft.keyID ?? "", draft.outcome, draft.detail ?? "",
                   String(draft.actor?.uid ?? 0), String(draft.actor?.pid ?? 0), draft.actor?.name ?? ""].joined(separator: "\u{0}")
        if pending.events[key] != nil {
            pending.events[key]!.count += 1
            pending.events[key]!.last = now
        } else {
            pending.order.append(key)
            pending.events[key] = Entry(draft: draft, count: 1, last: now)
        }
    }

    /// The writer: commits batches until nothing is pending. Runs on the
    /// blocking pool, one at a time (`committing`), so commits never overlap
    /// and each waiter is released by the commit that holds its events.
    private func commitUntilEmpty() {
        while true {
            let (batch, waiters) = pending.withLockedValue { pending -> ([AuditDraft], [CheckedContinuation<Void, any Error>]) in
                guard !pending.order.isEmpty else {
                    pending.committing = false
                    return ([], [])
                }
                let batch = pending.order.map { key -> AuditDraft in
                    let entry = pending.events[key]!
                    guard entry.count > 1 else { return entry.draft }
                    var merged = entry.draft
                    merged.detail = (entry.draft.detail ?? "") + " (×\(entry.count), \(entry.draft.at!.iso8601) to \(entry.last.iso8601))"
                    return merged
                }
                let waiters = pending.waiters
                pending = Pending(committing: true)
                return (batch, waiters)
            }
            if batch.isEmpty { return }
            let result: Result<Void, any Error>
            if let vault = state.current {
                do {
                    try vault.recordAudit(batch: batch, observer: state.cache.commitObserver())
                    result = .success(())
                } catch {
                    logger.error("cannot write \(batch.count) audit event(s); refusing to serve values until the audit trail can be written: \(error)")
                    result = .failure(KeywardenError.auditUnavailable(error.message))
                }
            } else {
                result = .failure(KeywardenError.agentLocked)
            }
            for waiter in waiters { waiter.resume(with: result) }
        }
    }
}

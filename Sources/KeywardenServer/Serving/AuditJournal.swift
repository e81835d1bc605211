import KeywardenCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The agent's audit events, written before the answers they describe: a
/// value leaves the agent only once the event that records it is durable
/// (DESIGN.md, invariant 8), and when the trail cannot be written nothing is
/// served (503), as Vault does.
///
/// Group commit keeps that cheap: `record` adds its events to the pending
/// batch and waits. One writer at a time commits everything pending in one
/// transaction on its own thread pool; events that arrive meanwhile wait for
/// the next commit, which starts as soon as the current one ends. So a busy
/// agent does one transaction (one fsync) per batch, not per request, and no
/// request hops through an actor: appending takes a lock for a moment.
/// Within a batch, identical events (the same client pid, key and purpose — a
/// program reading its key in a loop) become one that says how many times and
/// between which instants.
///
/// `count` is for the one kind of event that need not wait: a repeat of a
/// serve whose first event is already durable (``ServeWindows``). It joins
/// the next commit, which happens within ``repeatDelay`` even when nobody
/// waits, so a crash loses at most that long's count of repeats, never the
/// fact that a caller got a key.
public final class AuditJournal: Sendable {
    /// The longest a counted repeat waits for a commit.
    static let repeatDelay = TimeAmount.milliseconds(250)

    /// What makes two events the same event: everything but their instant.
    private struct EventKey: Hashable {
        var action: String
        var provider: String?
        var scope: String?
        var keyID: String?
        var outcome: String
        var detail: String?
        var uid: UInt32?
        var pid: Int32?
        var actor: String?

        init(_ draft: AuditDraft) {
            action = draft.action
            provider = draft.provider
            scope = draft.scope
            keyID = draft.keyID
            outcome = draft.outcome
            detail = draft.detail
            uid = draft.actor?.uid
            pid = draft.actor?.pid
            actor = draft.actor?.name
        }
    }

    private struct Entry {
        var draft: AuditDraft
        var count: Int
        var last: Timestamp
    }

    /// Called once the events it waited for are committed, or could not be.
    typealias Completion = @Sendable (Result<Void, any Error>) -> Void

    private struct Pending {
        var order: [EventKey] = []
        var events: [EventKey: Entry] = [:]
        var waiters: [Completion] = []
        /// Counted repeats, each of one window, in the order first counted.
        var repeats: [Repeats] = []
        var committing = false
        /// Commit even though nobody waits (a refusal posted, a repeat's delay over).
        var due = false
        var flushScheduled = false
        /// Whether the last commit failed: repeats then wait like first serves.
        var failing = false
        /// A flush of the outage spool is scheduled (one at a time).
        var spoolFlushScheduled = false

        var isEmpty: Bool { order.isEmpty && repeats.isEmpty }
    }

    private let pending = NIOLockedValueBox(Pending())
    private let state: AgentState
    private let logger: Logger
    private let pool: NIOThreadPool
    private let timer: any EventLoop

    public init(state: AgentState, logger: Logger, pool: NIOThreadPool = .singleton,
                timer: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()) {
        self.state = state
        self.logger = logger
        self.pool = pool
        self.timer = timer
    }

    /// Records `drafts` and returns once they are committed. Throws
    /// `KeywardenError.auditUnavailable` (503) when they could not be written and
    /// `KeywardenError.agentLocked` (423) when the vault was locked first: the caller then
    /// serves nothing.
    public func record(_ drafts: [AuditDraft]) async throws {
        guard !drafts.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            record(drafts) { continuation.resume(with: $0) }
        }
    }

    /// Records one event; see `record(_:)`.
    public func record(_ draft: AuditDraft) async throws {
        try await record([draft])
    }

    /// Records `drafts` and calls `done` (on the writer's thread) once they
    /// are committed or could not be: for callers on an event loop, which
    /// must not wait.
    func record(_ drafts: [AuditDraft], then done: @escaping Completion) {
        let startWriter = pending.withLockedValue { pending -> Bool in
            for draft in drafts { Self.add(draft, to: &pending) }
            pending.waiters.append(done)
            return Self.claimWriter(&pending)
        }
        if startWriter { pool.submit { [self] _ in commitUntilEmpty() } }
    }

    /// Adds an event to the next commit without waiting for it: for events
    /// that release no value (a refusal), whose request need not pay for a commit.
    public func post(_ draft: AuditDraft) {
        let startWriter = pending.withLockedValue { pending -> Bool in
            Self.add(draft, to: &pending)
            pending.due = true
            return Self.claimWriter(&pending)
        }
        if startWriter { pool.submit { [self] _ in commitUntilEmpty() } }
    }

    /// The repeats of one durable serve (its window, ``ServeWindows``),
    /// counted without building or hashing an event per request. Changed
    /// under the journal's lock only.
    final class Repeats: @unchecked Sendable {
        fileprivate let event: AuditDraft
        fileprivate var count = 0
        fileprivate var first = Timestamp(millisecondsSince1970: 0)
        fileprivate var last = Timestamp(millisecondsSince1970: 0)

        init(of event: AuditDraft) {
            self.event = event
        }
    }

    /// Counts a repeat of a serve whose first event is durable; it is
    /// committed with the next commit, at the latest ``repeatDelay`` from now.
    /// Returns false, counting nothing, while commits fail: the caller must
    /// then wait for a commit of its own (`record`), which fails closed.
    func count(_ repeats: Repeats) -> Bool {
        let now = Timestamp.now()
        let scheduleFlush = pending.withLockedValue { pending -> Bool? in
            guard !pending.failing else { return nil }
            if repeats.count == 0 {
                repeats.first = now
                pending.repeats.append(repeats)
            }
            repeats.count += 1
            repeats.last = now
            // A running writer takes it in its next batch when others wait;
            // otherwise the delayed flush does.
            guard !pending.flushScheduled else { return false }
            pending.flushScheduled = true
            return true
        }
        guard let scheduleFlush else { return false }
        if scheduleFlush {
            timer.scheduleTask(in: Self.repeatDelay) { [self] in flushDue() }
        }
        return true
    }

    /// Returns once everything recorded or counted so far is committed (at
    /// shutdown, so that no counted repeat is left behind).
    public func flush() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startWriter = pending.withLockedValue { pending -> Bool? in
                guard !pending.isEmpty || pending.committing else { return nil }
                pending.waiters.append { continuation.resume(with: $0) }
                pending.due = true
                return Self.claimWriter(&pending)
            }
            switch startWriter {
            case nil: continuation.resume()
            case true?: pool.submit { [self] _ in commitUntilEmpty() }
            case false?: break
            }
        }
    }

    private func flushDue() {
        let startWriter = pending.withLockedValue { pending -> Bool in
            pending.flushScheduled = false
            guard !pending.isEmpty else { return false }
            pending.due = true
            return Self.claimWriter(&pending)
        }
        if startWriter { pool.submit { [self] _ in commitUntilEmpty() } }
    }

    /// Whether the caller must start the writer (none is running).
    private static func claimWriter(_ pending: inout Pending) -> Bool {
        if pending.committing { return false }
        pending.committing = true
        return true
    }

    private static func add(_ draft: AuditDraft, to pending: inout Pending) {
        let now = draft.at ?? .now()
        add(draft, count: 1, first: now, last: now, to: &pending)
    }

    /// Adds `count` occurrences of `draft` between `first` and `last`.
    private static func add(_ draft: AuditDraft, count: Int, first: Timestamp, last: Timestamp, to pending: inout Pending) {
        let key = EventKey(draft)
        if let entry = pending.events[key] {
            pending.events[key]!.count += count
            pending.events[key]!.last = max(entry.last, last)
            if first < entry.draft.at! { pending.events[key]!.draft.at = first }
        } else {
            var draft = draft
            draft.at = first
            pending.order.append(key)
            pending.events[key] = Entry(draft: draft, count: count, last: last)
        }
    }

    /// The writer: commits batches until nothing is pending that must be
    /// committed now (counted repeats alone wait for their delayed flush).
    /// Runs on its pool, one at a time (`committing`), so commits never
    /// overlap and each waiter is released by the commit that holds its events.
    private func commitUntilEmpty() {
        while true {
            let (batch, waiters) = pending.withLockedValue { pending -> ([AuditDraft], [Completion]) in
                let waiters = pending.waiters
                pending.waiters = []
                guard !pending.isEmpty, pending.due || !waiters.isEmpty else {
                    // Nothing to write now: a flush that came during the last
                    // commit is answered by it; counted repeats wait for their flush.
                    pending.committing = false
                    return ([], waiters)
                }
                // Repeats join the identical events (those of one program's
                // connections, the first serves of the batch): one row each.
                for repeats in pending.repeats {
                    Self.add(repeats.event, count: repeats.count, first: repeats.first, last: repeats.last, to: &pending)
                    repeats.count = 0
                }
                let batch = pending.order.map { key -> AuditDraft in
                    let entry = pending.events[key]!
                    guard entry.count > 1 else { return entry.draft }
                    var merged = entry.draft
                    merged.detail = (entry.draft.detail ?? "") + " (×\(entry.count), \(entry.draft.at!.iso8601) to \(entry.last.iso8601))"
                    return merged
                }
                pending.order = []
                pending.events = [:]
                pending.repeats = []
                pending.due = false
                return (batch, waiters)
            }
            if batch.isEmpty {
                let failing = pending.withLockedValue { $0.failing }
                for waiter in waiters { waiter(failing ? .failure(KeywardenError.auditUnavailable("the last commit failed")) : .success(())) }
                return
            }
            let result = commit(batch)
            pending.withLockedValue { $0.failing = (try? result.get()) == nil }
            for waiter in waiters { waiter(result) }
        }
    }

    private func commit(_ batch: [AuditDraft]) -> Result<Void, any Error> {
        guard let vault = state.current else { return .failure(KeywardenError.agentLocked) }
        // Events kept during a database outage go first, so the chain holds
        // them in the order they happened.
        let spool = outageSpool(vault)
        let kept = spool?.events() ?? []
        do {
            try state.cache.observingOwnCommit { observer throws(KeywardenError) in try vault.recordAudit(batch: kept + batch, observer: observer) }
            if let spool, !kept.isEmpty {
                spool.clear()
                logger.notice("the vault database answers again: wrote the \(kept.count) audit event(s) kept during the outage")
            }
            return .success(())
        } catch {
            if let spool, let postgres = vault.postgres, postgres.isInOutageGrace {
                do {
                    try spool.append(batch)
                    scheduleSpoolFlush()
                    logger.warning("the vault database at \(postgres.url.server) cannot be reached; serving the keys this agent holds and keeping \(batch.count) audit event(s) in \(spool.path) until it answers: \(error)")
                    return .success(())
                } catch let spoolError {
                    logger.error("cannot keep audit events during the database outage: \(spoolError)")
                }
            }
            logger.error("cannot write \(batch.count) audit event(s); refusing to serve values until the audit trail can be written: \(error)")
            return .failure(KeywardenError.auditUnavailable(error.message))
        }
    }

    /// Writes the events kept during an outage as soon as the database
    /// answers again, even when no new event comes to carry them: tried
    /// every second while any are kept.
    private func scheduleSpoolFlush() {
        let first = pending.withLockedValue { pending -> Bool in
            defer { pending.spoolFlushScheduled = true }
            return !pending.spoolFlushScheduled
        }
        guard first else { return }
        timer.scheduleTask(in: .seconds(1)) { [self] in
            pending.withLockedValue { $0.spoolFlushScheduled = false }
            pool.submit { [self] _ in
                guard let vault = state.current, let spool = outageSpool(vault) else { return }
                let kept = spool.events()
                guard !kept.isEmpty else { return }
                // Through the writer, so this commit never overlaps another.
                let claimed = pending.withLockedValue { Self.claimWriter(&$0) }
                guard claimed else { return scheduleSpoolFlush() }
                defer { commitUntilEmpty() }
                do {
                    try state.cache.observingOwnCommit { observer throws(KeywardenError) in try vault.recordAudit(batch: kept, observer: observer) }
                    spool.clear()
                    logger.notice("the vault database answers again: wrote the \(kept.count) audit event(s) kept during the outage")
                } catch {
                    scheduleSpoolFlush()
                }
            }
        }
    }

    /// Where a PostgreSQL vault's agent keeps the audit events of an outage
    /// (nil for a SQLite vault, or without a state folder).
    private func outageSpool(_ vault: Vault) -> OutageSpool? {
        guard vault.postgres != nil, let directory = vault.context.anchorDirectory else { return nil }
        return OutageSpool(directory: directory, vaultID: vault.vaultID)
    }
}

import KeywardenCore
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// Batches the agent's audit events so that writing them never sits on a
/// request's path, while losing none: a batch is written every `interval`
/// and whatever is left when the service shuts down. Within a batch,
/// identical events (the same client pid, key and purpose — a program reading
/// its key in a loop) become one event that says how many times and between
/// which instants, so a busy client costs one row per batch, not one per read.
/// Appending takes a lock for a moment; the write (SQLite, fsync) runs on
/// NIO's blocking-I/O pool, never on the threads that serve requests.
public final class AuditBuffer: Service, Sendable {
    private struct Pending {
        var order: [String] = []
        var events: [String: (draft: AuditDraft, count: Int, last: Timestamp)] = [:]
    }

    private let pending = NIOLockedValueBox(Pending())
    private let flushing = NIOLockedValueBox(false)
    private let state: AgentState
    private let logger: Logger
    private let interval: Duration

    public init(state: AgentState, logger: Logger, interval: Duration = .milliseconds(200)) {
        self.state = state
        self.logger = logger
        self.interval = interval
    }

    public func append(_ draft: AuditDraft) {
        var draft = draft
        let now = draft.at ?? .now()
        draft.at = now
        let key = [draft.action, draft.provider ?? "", draft.scope ?? "", draft.keyID ?? "", draft.outcome, draft.detail ?? "",
                   String(draft.actor?.uid ?? 0), String(draft.actor?.pid ?? 0), draft.actor?.name ?? ""].joined(separator: "\u{0}")
        pending.withLockedValue { pending in
            if pending.events[key] != nil {
                pending.events[key]!.count += 1
                pending.events[key]!.last = now
            } else {
                pending.order.append(key)
                pending.events[key] = (draft, 1, now)
            }
        }
    }

    /// Writes everything pending in one transaction.
    public func flush() async {
        guard let vault = state.current else { return }
        let batch = pending.withLockedValue { value -> [AuditDraft] in
            let taken = value.order.map { key -> AuditDraft in
                let (draft, count, last) = value.events[key]!
                guard count > 1 else { return draft }
                var merged = draft
                merged.detail = (draft.detail ?? "") + " (×\(count), \(draft.at!.iso8601) to \(last.iso8601))"
                return merged
            }
            value = Pending()
            return taken
        }
        guard !batch.isEmpty else { return }
        let logger = self.logger
        let failed: Bool = (try? await NIOThreadPool.singleton.runIfActive { () -> Bool in
            do {
                try vault.recordAudit(batch: batch)
                return false
            } catch {
                logger.error("cannot write \(batch.count) audit event(s): \(error)")
                return true
            }
        }) ?? true
        if failed {
            // Keep them for the next try rather than lose them.
            pending.withLockedValue { value in
                for (index, draft) in batch.enumerated() {
                    let key = "retry-\(index)-\(draft.at?.millisecondsSince1970 ?? 0)"
                    value.order.insert(key, at: index)
                    value.events[key] = (draft, 1, draft.at ?? .now())
                }
            }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                await self.flush()
            }
        }
        await flush()
    }
}

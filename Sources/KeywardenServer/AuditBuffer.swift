import KeywardenCore
import Logging
import ServiceLifecycle

/// Batches the agent's audit events (one per value served) so that writing
/// them never sits on a request's path, while losing none: a batch is written
/// every `interval` and whatever is left when the service shuts down.
public actor AuditBuffer: Service {
    private var pending: [AuditDraft] = []
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
        draft.at = draft.at ?? .now()
        pending.append(draft)
    }

    /// Writes everything pending in one transaction.
    public func flush() async {
        guard !pending.isEmpty, let vault = await state.current else { return }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        do {
            try vault.recordAudit(batch: batch)
        } catch {
            // Keep them for the next try rather than lose them.
            pending.insert(contentsOf: batch, at: 0)
            logger.error("cannot write \(batch.count) audit event(s): \(error)")
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

    /// Used before the vault is locked, so nothing pending is lost.
    public var count: Int { pending.count }
}

import NIOConcurrencyHelpers
import PostgresNIO

/// A lease only one process of all hosts holds at a time: a session-level
/// PostgreSQL advisory lock on a connection of its own, held for as long as
/// that connection lives. The rotation scheduler runs only where its lease
/// is held, so two hosts never rotate the same pool at once.
///
/// When the leader's process dies, or its host, its connection closes and
/// the server releases the lock; the next agent that asks (every scheduler
/// tick) takes it, so another host takes over within one scheduler interval.
public final class PostgresLease: Sendable {
    private let connections: PostgresConnections
    private let lock: Int64
    private let held = NIOLockedValueBox<PostgresConnection?>(nil)
    /// One claim at a time: the scheduler's rotation and recovery tasks both
    /// ask, and two claims racing after a broken connection could each take
    /// a new one, the second overwriting the first, which would then hold the
    /// lock with nothing referencing it (no host could lead again).
    private let claiming = NIOLock()

    init(connections: PostgresConnections, lock: Int64) {
        self.connections = connections
        self.lock = lock
    }

    deinit {
        release()
    }

    /// Whether this process holds the lease, taking it when it is free. A
    /// lease whose connection broke is lost (another host may hold it now)
    /// and asked for again on a new connection.
    public func claim() -> Bool {
        claiming.withLock { claimOnce() }
    }

    private func claimOnce() -> Bool {
        if let connection = held.withLockedValue({ $0 }) {
            if !connection.isClosed, (try? PostgresSession(connection: connection).execute("SELECT 1")) != nil { return true }
            PostgresConnections.close(connection)
            held.withLockedValue { $0 = nil }
        }
        guard let connection = try? connections.connect() else { return false }
        let session = PostgresSession(connection: connection)
        guard let row = try? session.rows("SELECT pg_try_advisory_lock($1) AS taken", [lock]).first,
              (row["taken"] as Int64?) == 1 else {
            PostgresConnections.close(connection)
            return false
        }
        held.withLockedValue { $0 = connection }
        return true
    }

    /// Whether this process held the lease when last asked.
    public var isHeld: Bool { held.withLockedValue { $0.map { !$0.isClosed } ?? false } }

    /// Gives the lease up (closing its connection releases the lock).
    public func release() {
        let connection = held.withLockedValue { held in defer { held = nil }; return held }
        connection.map(PostgresConnections.close)
    }
}

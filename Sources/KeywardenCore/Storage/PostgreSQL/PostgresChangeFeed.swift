import Dispatch
import Foundation
import NIOConcurrencyHelpers
import PostgresNIO

/// What this process knows of changes to a PostgreSQL vault: a counter that
/// moves on every change it commits itself and on every `NOTIFY
/// keywarden_vault` another host's commit sends. The agent's key cache is
/// valid while the counter stays the same (as the SQLite agent's is while
/// the WAL file does).
///
/// The listener is a connection of its own, started on first use (only the
/// agent asks). When it breaks — the server restarts, the network drops —
/// the feed is marked down and reconnects with backoff; once listening
/// again the counter moves, since changes made meanwhile were not announced.
/// While it is down the counter stays put, so the agent keeps serving the
/// keys it holds through a database restart — for the outage grace
/// (`PostgresStore.outageGrace`) and no longer: after that every call moves
/// the counter, so nothing cached is served until the database is back.
public final class PostgresChangeFeed: Sendable {
    private struct State {
        var count: UInt64 = 0
        var started = false
        var stopped = false
        var connection: PostgresConnection?
        /// When the listener last lost its connection; nil while listening.
        var downSince: ContinuousClock.Instant?
    }

    private let connections: PostgresConnections
    private let state = NIOLockedValueBox(State())
    private let grace: @Sendable () -> Duration

    init(connections: PostgresConnections, grace: @escaping @Sendable () -> Duration) {
        self.connections = connections
        self.grace = grace
    }

    deinit {
        stop()
    }

    /// The number of changes seen; starts the listener on first use.
    public func count() -> UInt64 {
        let start = state.withLockedValue { state -> Bool in
            defer { state.started = true }
            return !state.started && !state.stopped
        }
        if start { listen(attempt: 0) }
        let grace = grace()
        return state.withLockedValue { state in
            if let since = state.downSince, ContinuousClock.now - since > grace { state.count &+= 1 }
            return state.count
        }
    }



    func recordOwnChange() {
        state.withLockedValue { $0.count &+= 1 }
    }

    func stop() {
        let connection = state.withLockedValue { state -> PostgresConnection? in
            state.stopped = true
            defer { state.connection = nil }
            return state.connection
        }
        connection.map(PostgresConnections.close)
    }

    /// Starts listening now, on the calling thread (the agent, before it
    /// serves anything, so that no key is cached before the feed can hear
    /// of a change to it); retried in the background when the database
    /// cannot be reached.
    public func start() {
        let start = state.withLockedValue { state -> Bool in
            defer { state.started = true }
            return !state.started && !state.stopped
        }
        if start { connectListener(attempt: 0) }
    }

    private func listen(attempt: Int) {
        // Weak: a feed nobody holds any more stops reconnecting.
        DispatchQueue.global().async { [weak self] in self?.connectListener(attempt: attempt) }
    }

    private func connectListener(attempt: Int) {
            guard !state.withLockedValue(\.stopped) else { return }
            do {
                let connection = try connections.connect()
                connection.addListener(channel: PostgresStore.channel) { [weak self] _, _ in
                    self?.state.withLockedValue { $0.count &+= 1 }
                }
                _ = try connection.query("LISTEN \(unescaped: PostgresStore.channel)", logger: PostgresConnections.logger).wait()
                let keep = state.withLockedValue { state -> Bool in
                    guard !state.stopped else { return false }
                    state.connection = connection
                    state.downSince = nil
                    // Changes made while nobody listened were not announced.
                    state.count &+= 1
                    return true
                }
                guard keep else { PostgresConnections.close(connection); return }
                connection.closeFuture.whenComplete { [weak self] _ in self?.lost() }
            } catch {
                state.withLockedValue { state in
                    if state.downSince == nil { state.downSince = .now }
                }
                retry(attempt: attempt + 1)
            }
    }

    private func lost() {
        let again = state.withLockedValue { state -> Bool in
            state.connection = nil
            if state.downSince == nil { state.downSince = .now }
            return !state.stopped
        }
        if again { retry(attempt: 0) }
    }

    private func retry(attempt: Int) {
        // 0.2 s, 0.4 s, … up to 2 s: a restarted server is found within 2 s.
        let delay = min(2.0, 0.2 * Double(1 << min(attempt, 4)))
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in self?.listen(attempt: attempt) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GRDB
import KeywardenMigrations
import NIOConcurrencyHelpers
import PostgresNIO

/// A vault in a PostgreSQL database, shared by many hosts: the same schema
/// and invariants as the SQLite file (migrations/postgresql/), the same
/// records and row MACs, so the domain does not know which it writes to.
///
/// Transactions:
/// - A read is one `REPEATABLE READ READ ONLY` transaction: one snapshot.
/// - A write takes a transaction-scoped advisory lock first, so writers on
///   every host queue as SQLite's `BEGIN IMMEDIATE` makes processes queue:
///   each write's reads see every write committed before it, and the rules
///   the domain checks before it writes (one rotation per pool, the next
///   audit sequence number) hold across hosts. The audit chain's head is
///   also locked (`SELECT … FOR UPDATE`) by every append.
/// - A serialization failure or deadlock, and a connection found broken
///   before the transaction began, are retried (up to 5 times, with
///   jittered backoff); `VaultStore` lets a backend run a body again.
/// - A write that changed more than observations sends `NOTIFY
///   keywarden_vault` within the transaction, delivered on commit: every
///   host's agent drops its cached keys (``PostgresChangeFeed``).
public final class PostgresStore: Sendable {
    public let url: DatabaseURL
    let connections: PostgresConnections
    /// Changes seen by this process: its own commits and other hosts' NOTIFYs.
    public let changes: PostgresChangeFeed

    /// The lock every write transaction takes first (an arbitrary constant: "kwvault").
    static let writeLock: Int64 = 0x6B77_7661_756C_74
    /// The lock the rotation scheduler's leader holds for as long as it leads: "kwsched".
    static let schedulerLock: Int64 = 0x6B77_7363_6865_64
    /// The lock migrations are applied under, so two hosts starting at once do not both migrate.
    static let migrationLock: Int64 = 0x6B77_6D69_6772_6174
    /// The channel commits are announced on.
    static let channel = "keywarden_vault"

    /// Whether the database answers, and how long an agent keeps serving
    /// the keys it holds while it does not.
    private struct Health {
        var unreachableSince: ContinuousClock.Instant?
        var outageGrace: Duration = .seconds(600)
    }

    private let health = NIOLockedValueBox(Health())
    /// The rotation scheduler's lease across hosts (an advisory lock).
    public let schedulerLease: PostgresLease

    private init(url: DatabaseURL, connections: PostgresConnections) {
        self.url = url
        self.connections = connections
        let health = health
        changes = PostgresChangeFeed(connections: connections, grace: { health.withLockedValue { $0.outageGrace } })
        schedulerLease = PostgresLease(connections: connections, lock: Self.schedulerLock)
    }

    /// How long an agent keeps serving the keys it already holds (and
    /// keeping the audit events of that time locally) once the database
    /// stops answering; 10 minutes unless `serve --database-outage-grace`.
    public var outageGrace: Duration {
        get { health.withLockedValue { $0.outageGrace } }
        set { health.withLockedValue { $0.outageGrace = newValue } }
    }

    /// Whether the database has been unreachable for no longer than the grace.
    public var isInOutageGrace: Bool {
        health.withLockedValue { health in
            guard let since = health.unreachableSince else { return false }
            return ContinuousClock.now - since <= health.outageGrace
        }
    }

    private func recordReachable(_ reachable: Bool) {
        health.withLockedValue { health in
            if reachable {
                health.unreachableSince = nil
            } else if health.unreachableSince == nil {
                health.unreachableSince = .now
            }
        }
    }

    /// Creates the vault's tables in an empty database (refusing one that
    /// already holds a vault or other tables) and applies every migration.
    public static func create(_ url: DatabaseURL) throws(KeywardenError) -> PostgresStore {
        let store = PostgresStore(url: url, connections: try PostgresConnections(url))
        // One transaction under the migration lock: two hosts running `init`
        // on one database at once queue here, and the second finds the vault.
        try store.run { session in
            try session.inTransaction(locking: Self.migrationLock) {
                let tables: [String] = try session.rows("SELECT tablename::text AS tablename FROM pg_tables WHERE schemaname = current_schema()").map { $0["tablename"] }
                if tables.contains("vault") { throw KeywardenError.vaultExists(at: url.redacted) }
                if !tables.isEmpty {
                    throw KeywardenError(.invalidInput, "the database \(url.redacted) already holds other tables (\(tables.sorted().prefix(5).joined(separator: ", "))); use an empty database for a vault")
                }
                try session.execute("CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                for migration in SchemaMigrations.postgresql {
                    for statement in PostgresSession.statements(migration.sql) { try session.execute(statement) }
                    try session.execute("INSERT INTO grdb_migrations (identifier) VALUES ($1)", [migration.identifier])
                }
            }
        }
        return store
    }

    /// Opens an existing vault, applying newer migrations; refuses a
    /// database without a vault, and one written by a newer Keywarden.
    public static func open(_ url: DatabaseURL) throws(KeywardenError) -> PostgresStore {
        let store = PostgresStore(url: url, connections: try PostgresConnections(url))
        try store.run { session in
            let tables: Set<String> = Set(try session.rows("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").map { $0["tablename"] })
            guard tables.contains("grdb_migrations"), tables.contains("vault") else {
                throw KeywardenError(.notFound, "no vault at \(url.redacted): run `keywarden init --database \(url.redacted)` to create one")
            }
            try store.refuseNewerSchema(session)
        }
        try store.migrate()
        return store
    }

    /// Closes the pooled connections and the change listener.
    public func close() {
        changes.stop()
        schedulerLease.release()
        connections.closeAll()
    }

    private func refuseNewerSchema(_ session: PostgresSession) throws {
        let applied: [String] = try session.rows("SELECT identifier FROM grdb_migrations").map { $0["identifier"] }
        let known = Set(SchemaMigrations.postgresql.map(\.identifier))
        let unknown = applied.filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw KeywardenError(.integrity, "\(url.redacted) was written by a newer Keywarden (schema \(unknown.joined(separator: ", "))); upgrade keywarden to open it. Nothing was changed")
        }
    }

    /// Applies the migrations not yet recorded, each in its own transaction,
    /// under the migration lock.
    private func migrate() throws(KeywardenError) {
        // Only what is missing: a role that may not create tables (the
        // PostgreSQL 15 default for non-owners) opens a current vault.
        let applied = Set(try appliedMigrations())
        for migration in SchemaMigrations.postgresql where !applied.contains(migration.identifier) {
            try run { session in
                try session.inTransaction(locking: Self.migrationLock) {
                    try refuseNewerSchema(session)
                    let done: Int64? = try session.value("SELECT COUNT(*) FROM grdb_migrations WHERE identifier = $1", [migration.identifier])
                    if done == 0 {
                        for statement in PostgresSession.statements(migration.sql) { try session.execute(statement) }
                        try session.execute("INSERT INTO grdb_migrations (identifier) VALUES ($1)", [migration.identifier])
                    }
                }
            }
        }
    }

    /// Runs `body` on a pooled connection, outside any transaction.
    func run<T>(_ body: (PostgresSession) throws -> T) throws(KeywardenError) -> T {
        do {
            return try connections.withConnection { try body(PostgresSession(connection: $0)) }
        } catch {
            throw PostgresConnections.describe(error, url: url)
        }
    }

    /// One transaction, retried on serialization failures, deadlocks and a
    /// connection that broke before it began.
    private func transaction<T>(write: Bool, _ rows: RowAuthenticator, observer: CommitObserver?,
                                _ body: (PostgresTransaction) throws -> T) throws(KeywardenError) -> T {
        var attempt = 0
        while true {
            var began = false
            do {
                return try connections.withConnection { connection in
                    let session = PostgresSession(connection: connection)
                    try session.execute(write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    began = true
                    do {
                        var changesBefore: UInt64 = 0
                        if write {
                            try session.execute("SELECT pg_advisory_xact_lock($1)", [Self.writeLock])
                            // Only an observer (the agent's cache) reads the
                            // feed: a command line starts no listener.
                            if let observer {
                                changesBefore = changes.count()
                                observer.inTransaction()
                            }
                        }
                        let tx = PostgresTransaction(session: session, rows: rows)
                        let result = try SQLiteRowMACs.$current.withValue(rows) { try body(tx) }
                        if tx.changesVault { try session.execute("NOTIFY \(Self.channel)") }
                        try session.execute("COMMIT")
                        if tx.changesVault { changes.recordOwnChange() }
                        if let observer {
                            observer.afterCommit()
                            observer.confirm(!tx.changesVault && changes.count() == changesBefore)
                        }
                        recordReachable(true)
                        return result
                    } catch {
                        _ = try? session.execute("ROLLBACK")
                        throw error
                    }
                }
            } catch {
                if PostgresConnections.isConnectionError(error) { recordReachable(false) }
                let state = PostgresConnections.sqlState(error)
                let retryable = state == "40001" || state == "40P01" || (!began && PostgresConnections.isConnectionError(error))
                if retryable, attempt < 5 {
                    attempt += 1
                    usleep(UInt32.random(in: 0...(UInt32(10_000) << attempt)))
                    continue
                }
                throw PostgresConnections.describe(error, url: url)
            }
        }
    }
}

extension PostgresStore: VaultStore {
    var displayLocation: String { url.redacted }

    func read<T>(_ rows: RowAuthenticator, _ body: (any StoreReading) throws -> T) throws(KeywardenError) -> T {
        try transaction(write: false, rows, observer: nil, body)
    }

    func write<T>(_ rows: RowAuthenticator, observer: CommitObserver?, _ body: (any StoreWriting) throws -> T) throws(KeywardenError) -> T {
        try transaction(write: true, rows, observer: observer, body)
    }

    func appliedMigrations() throws(KeywardenError) -> [String] {
        try run { session in try session.rows("SELECT identifier FROM grdb_migrations ORDER BY identifier").map { $0["identifier"] } }
    }
}

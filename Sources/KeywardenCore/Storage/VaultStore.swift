/// Where a vault's rows live: the seam between the domain (`Vault` and its
/// extensions, which hold no SQL) and a database engine. SQLite through GRDB
/// is the embedded default (Storage/SQLite/); another engine (PostgreSQL)
/// implements the same protocols and nothing in the domain changes.
///
/// All work happens in transactions. `read` sees one consistent snapshot;
/// `write` is one transaction that commits as a whole or not at all, and the
/// domain writes each change's audit event inside the same `write`, so a
/// change cannot be committed without its event. SQLite starts writes with
/// `BEGIN IMMEDIATE`, so writers (processes included) queue instead of
/// failing halfway. A backend may run `body` again after a serialization
/// failure, so a body does nothing outside the transaction but compute.
///
/// Rows of authenticated tables are checked and signed with `rows`
/// (RowAuthentication.swift) by the store itself, below the repositories: no
/// repository method can return a row whose MAC does not match, or write one
/// without its MAC.
protocol VaultStore: Sendable {
    /// Where the vault lives, as shown to users (a file path).
    var displayLocation: String { get }

    /// Runs `body` in one read transaction.
    func read<T>(_ rows: RowAuthenticator, _ body: (any StoreReading) throws -> T) throws(KeywardenError) -> T

    /// Runs `body` in one write transaction; `observer` watches its commit
    /// (see `CommitObserver`).
    func write<T>(_ rows: RowAuthenticator, observer: CommitObserver?, _ body: (any StoreWriting) throws -> T) throws(KeywardenError) -> T

    /// The schema version, as the identifiers of the applied migrations.
    func appliedMigrations() throws(KeywardenError) -> [String]
}

/// Everything one transaction can read, by area (Storage/Repositories/).
protocol StoreReading: VaultHeaderReading, KeyslotReading, ScopeReading, ProviderReading, KeyReading, ConfigReading,
    TokenReading, RotationReading, AuditReading, TrafficReading, HeadroomReading, IncidentReading {}

/// Everything one write transaction can read and change.
protocol StoreWriting: StoreReading, VaultHeaderWriting, KeyslotWriting, ScopeWriting, ProviderWriting, KeyWriting,
    ConfigWriting, TokenWriting, RotationWriting, AuditWriting, TrafficWriting, HeadroomWriting, IncidentWriting {}

/// Watches one commit from inside the writer, for a cache that must notice
/// other processes' commits but not its own process's audit writes (the
/// agent's active-key cache). `inTransaction` runs once the write transaction
/// holds the database (after `BEGIN IMMEDIATE`, when no other process can
/// commit); `afterCommit` right after `COMMIT`; then `confirm(true)` when no
/// other connection committed in between, which makes what `afterCommit` saw
/// the result of this commit alone. A backend that cannot tell confirms false.
public struct CommitObserver {
    /// Runs inside the write transaction, before its body.
    public var inTransaction: () -> Void
    /// Runs right after the commit, on the writer.
    public var afterCommit: () -> Void
    /// Says whether the commit was the only one since `inTransaction`.
    public var confirm: (_ onlyThisCommit: Bool) -> Void

    public init(inTransaction: @escaping () -> Void, afterCommit: @escaping () -> Void, confirm: @escaping (_ onlyThisCommit: Bool) -> Void) {
        self.inTransaction = inTransaction
        self.afterCommit = afterCommit
        self.confirm = confirm
    }
}

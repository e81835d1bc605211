import Foundation
import GRDB

/// One SQLite transaction as the repositories see it (`StoreReading`,
/// `StoreWriting`): each method is one or a few statements on the
/// connection the store opened the transaction on (`BEGIN IMMEDIATE` for a
/// write), committed or rolled back as a whole by the store. A read
/// transaction runs on a read-only connection, so a write there fails.
struct SQLiteTransaction: StoreWriting {
    let db: Database
    /// The key and mode rows are checked and signed with in this transaction.
    let rows: RowAuthenticator
}

// MARK: - Header and keyslots

extension SQLiteTransaction {
    func headerMACState() throws -> (hasMAC: Bool, pending: Bool)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT mac, row_macs_pending FROM vault") else { return nil }
        let mac: Data? = row["mac"]
        return (mac != nil, row["row_macs_pending"])
    }

    func counts() throws -> VaultCounts {
        VaultCounts(
            keyslots: try KeyslotRecord.fetchCount(db), scopes: try ScopeRecord.fetchCount(db), keys: try KeyRecord.fetchCount(db),
            activeKeys: try KeyRecord.filter(Column("state") == KeyState.active).fetchCount(db),
            configEntries: try ConfigEntryRecord.fetchCount(db),
            auditEvents: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_events") ?? 0)
    }

    func insert(_ header: VaultHeaderRecord) throws { try header.insert(db) }
    func update(_ header: VaultHeaderRecord) throws { try header.update(db) }

    // `BEGIN IMMEDIATE` already holds the only write lock SQLite has.
    func headerForUpdate() throws -> VaultHeaderRecord? { try header() }

    func authenticateEveryRow() throws -> Int {
        try db.execute(sql: "UPDATE vault SET row_macs_pending = 0")
        return try SQLiteRowMACs.authenticateEveryRow(db, with: rows)
    }

    func keyslots() throws -> [KeyslotRecord] {
        try KeyslotRecord.order(Column("id")).fetchAll(db)
    }

    func insert(_ slot: KeyslotRecord) throws -> Int64 {
        try slot.insert(db)
        return db.lastInsertedRowID
    }

    func update(_ slot: KeyslotRecord) throws { try slot.update(db) }
    func delete(_ slot: KeyslotRecord) throws { _ = try slot.delete(db) }
}

// MARK: - Scopes and providers

extension SQLiteTransaction {
    func scopeExists(_ name: String) throws -> Bool { try ScopeRecord.exists(db, key: name) }
    func scopes() throws -> [ScopeRecord] { try ScopeRecord.order(Column("name")).fetchAll(db) }

    func childScopes(of parent: String) throws -> [ScopeRecord] {
        try ScopeRecord.filter(Column("parent") == parent).order(Column("name")).fetchAll(db)
    }

    func insert(_ scope: ScopeRecord) throws { try scope.insert(db) }
    func delete(_ scope: ScopeRecord) throws { _ = try scope.delete(db) }

    func providerRow(named name: String) throws -> ProviderRecord? { try ProviderRecord.fetchOne(db, key: name) }
    func providerRowExists(_ name: String) throws -> Bool { try ProviderRecord.exists(db, key: name) }
    func providerRows() throws -> [ProviderRecord] { try ProviderRecord.order(Column("name")).fetchAll(db) }

    func insert(_ provider: ProviderRecord) throws { try provider.insert(db) }
    func save(_ provider: ProviderRecord) throws { try provider.save(db) }
    func delete(_ provider: ProviderRecord) throws { _ = try provider.delete(db) }
}

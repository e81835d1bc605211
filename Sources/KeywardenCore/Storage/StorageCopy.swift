import Foundation
import GRDB
import KeywardenCrypto

/// `storage copy --to postgres://…`: a vault file copied into an empty
/// PostgreSQL database with its ciphertexts, row MACs and audit chain
/// untouched, so that the copy is the same vault (same id, keyslots, keys,
/// history) that every host can then share.
///
/// Rows are copied as stored, every column of every row, `mac` included: the
/// PostgreSQL schema keeps SQLite's storage classes, and row MACs and
/// ciphertexts are bound to the vault id and the stored values, not to the
/// backend, so nothing is decoded, re-encoded or re-signed.
///
/// The order of checks; nothing is written before the first three pass:
/// 1. the target holds nothing (no tables, or Keywarden's empty tables, as a
///    failed `init` or copy leaves them), looked at without changing it;
/// 2. the source's audit chain verifies (`audit verify`): a broken chain is
///    never carried over;
/// 3. once its tables exist, the target is at the source's schema (the same
///    applied migrations);
/// 4. one transaction on the target inserts every row, reads every row back
///    and compares each table with the source (rows and values), and commits
///    only when they are equal and the file did not change since step 2
///    (`PRAGMA data_version`: no other process committed to it);
/// 5. the committed copy is opened as a new process would, unlocked with the
///    same credential, its chain verified, every authenticated row's MAC
///    checked and every sealed value opened, and its counts and audit head
///    compared with the source's;
/// 6. a `storage.copy` event is appended to the copy's trail, through the
///    vault like any event (the file is not written to at all).
public enum StorageCopy {
    /// The tables a vault has, in an order that inserts every row after the
    /// rows it refers to, with each table's primary key.
    static let tables: [(name: String, key: [String])] = [
        ("vault", ["id"]), ("keyslots", ["id"]), ("scopes", ["name"]), ("providers", ["name"]), ("keys", ["id"]),
        ("config_entries", ["id"]), ("agent_tokens", ["id"]), ("rotation_policies", ["provider", "scope"]),
        ("rotations", ["id"]), ("exported_files", ["path"]), ("audit_events", ["seq"]), ("key_traffic", ["key_id", "hour"]), ("key_headroom", ["key_id"]), ("network_incidents", ["id"]),
    ]

    /// What the copy needs, resolved and checked before anything is opened:
    /// the vault file the usual options select, and the target database.
    public struct Plan: Sendable {
        public var source: VaultLocation
        public var target: DatabaseURL
    }

    /// Resolves `storage copy --to TARGET` with `environment`: refuses a
    /// password in `to` (argv is visible to every user; it belongs in
    /// KEYWARDEN_DATABASE_PASSWORD), a target that is not a postgres:// URL,
    /// and a source that is not a vault file (KEYWARDEN_DATABASE_URL set:
    /// the vault is on PostgreSQL already, perhaps in the target itself).
    public static func plan(to: String, environment: [String: String]) throws(KeywardenError) -> Plan {
        if DatabaseURL.hasPassword(to) {
            throw KeywardenError(.invalidInput, "--to \(DatabaseURL.redact(to)) carries a password, which every user can read in the process list; put the password in KEYWARDEN_DATABASE_PASSWORD instead. Nothing was copied")
        }
        guard DatabaseURL.isPostgres(to) else {
            throw KeywardenError(.invalidInput, "--to \(DatabaseURL.redact(to)) is not a postgres:// URL (expected postgres://USER@HOST[:PORT]/DATABASE). Nothing was copied")
        }
        let target = try DatabaseURL(to, password: environment["KEYWARDEN_DATABASE_PASSWORD"])
        switch try VaultAddress.resolve(environment: environment) {
        case .postgres(let current):
            if current.sameDatabase(as: target) {
                throw KeywardenError(.invalidInput, "the source and the target are the same database (\(target.redacted), from KEYWARDEN_DATABASE_URL and --to); storage copy copies a vault file: unset KEYWARDEN_DATABASE_URL. Nothing was copied")
            }
            throw KeywardenError(.invalidInput, "the vault KEYWARDEN_DATABASE_URL selects (\(current.redacted)) is on PostgreSQL already; storage copy copies a vault file: unset KEYWARDEN_DATABASE_URL (KEYWARDEN_HOME selects the file). Nothing was copied")
        case .file(let location):
            return Plan(source: location, target: target)
        }
    }

    /// What was copied and checked.
    public struct Report: Codable, Sendable {
        /// The vault file.
        public var source: String
        /// The target, without a password.
        public var target: String
        public var vaultID: String
        /// The schema both are at (the applied migrations).
        public var schema: [String]
        /// Rows per table, as copied and as found in the copy.
        public var rows: [String: Int]
        /// Events whose chain link was verified, before (in the file) and after (in the copy).
        public var verifiedBefore: Int
        public var verifiedAfter: Int
        /// Events written while locked and not yet sealed, copied as they were.
        public var unsealed: Int
        /// The audit head (newest sealed event) of both.
        public var auditHead: Int64
        /// Authenticated rows whose MAC was checked in the copy, and sealed values opened.
        public var rowsAuthenticated: Int
        public var valuesOpened: Int
        /// The `storage.copy` event in the copy's trail; nil when it could not be written.
        public var copyEvent: Int64?
        /// Why the `storage.copy` event could not be written (the copy itself is complete).
        public var warning: String?

        public var keys: Int { rows["keys"] ?? 0 }
        public var configEntries: Int { rows["config_entries"] ?? 0 }
        public var auditEvents: Int { rows["audit_events"] ?? 0 }

        enum CodingKeys: String, CodingKey {
            case source, target, vaultID = "vault_id", schema, rows, verifiedBefore = "verified_before", verifiedAfter = "verified_after"
            case unsealed, auditHead = "audit_head", rowsAuthenticated = "rows_authenticated", valuesOpened = "values_opened"
            case copyEvent = "copy_event", warning
        }
    }

    /// Copies the unlocked vault file `source` into the empty database
    /// `target`; `credential` (the one that unlocked `source`) unlocks the
    /// copy for its checks. The file is only read.
    public static func copy(_ source: Vault, credential: UnlockCredential, to target: DatabaseURL,
                            context: VaultContext) throws(KeywardenError) -> Report {
        guard let reader = source.store as? ReadOnlyVaultFile else {
            throw KeywardenError(.invalidInput, "storage copy copies a vault file opened read-only (OpenedStore.readOnlyFile), not \(source.shownLocation). Nothing was copied")
        }
        let sourcePath = reader.path
        let schema = try reader.appliedMigrations()
        // Any commit to the file by another connection from here on moves it.
        let version = try reader.dataVersion()

        // 1. A target that is not empty is refused before anything else.
        let state = try targetState(target, source: source)

        // 2. Never carry a broken chain over.
        let before = try source.verifyAudit()
        guard before.ok else {
            var message = "the audit trail of \(sourcePath) does not verify: \(before.problem ?? "broken"); storage copy never copies a broken chain (`keywarden audit verify` shows the same). Nothing was copied"
            if let anchor = try source.anchorAheadOfStore() {
                message += ". If this file was copied to PostgreSQL before and that copy has been used from this machine since, the vault's history has moved on without the file: use the copy, or, to copy the file again (after a trial copy, say), move \(anchor) aside first"
            }
            throw KeywardenError(.integrity, message)
        }

        // The file's tables and columns, checked against what a vault has.
        let sourceColumns: [String: [String]] = try readSource(reader) { snapshot in
            let present = Set(try snapshot.tables())
            let unknown = present.subtracting(tables.map(\.name) + ["grdb_migrations"]).sorted()
            if !unknown.isEmpty {
                throw KeywardenError(.integrity, "\(sourcePath) has tables this version does not copy (\(unknown.joined(separator: ", "))); nothing was copied")
            }
            var columns: [String: [String]] = [:]
            for table in tables {
                guard present.contains(table.name) else {
                    throw KeywardenError(.integrity, "\(sourcePath) has no \(table.name) table; it is not a complete vault. Nothing was copied")
                }
                columns[table.name] = try snapshot.columns(of: table.name).sorted()
            }
            return columns
        }

        // 3. An empty target at the same schema.
        let store = try state == .empty ? PostgresStore.create(target) : PostgresStore.open(target)
        defer { store.close() }
        let targetSchema = try store.appliedMigrations()
        guard targetSchema == schema.sorted() else {
            throw KeywardenError(.invalidInput, "\(target.redacted) is at schema \(targetSchema.last ?? "none") and \(sourcePath) at \(schema.last ?? "none") (\(Self.schemaDifference(schema, targetSchema))); both must have the same migrations: upgrade keywarden, or copy into an empty database. Nothing was copied")
        }

        // 4. One transaction: insert, read back, compare, commit.
        let digestKey = SymmetricKey.random()
        let copied: Snapshot = try store.rawWrite { target in
            for table in tables {
                let columns = try target.columns(of: table.name).sorted()
                guard columns == sourceColumns[table.name] else {
                    throw KeywardenError(.invalidInput, "the \(table.name) table has other columns in \(sourcePath) than in the target (\(columns.joined(separator: ", ")) there); nothing was copied")
                }
                // Inside the write lock: nobody filled it since it was checked.
                guard try target.count(table.name) == 0 else {
                    throw KeywardenError(.conflict, "\(store.url.redacted) was written to meanwhile (its \(table.name) table is not empty); nothing was copied")
                }
            }
            let snapshot = try copyRows(from: reader, to: target, columns: sourceColumns, digestKey: digestKey, url: store.url)
            for table in tables {
                var digest = TableDigest(key: digestKey)
                let columns = sourceColumns[table.name]!
                try target.forEachRow(table.name, columns: columns, key: table.key) { values in try digest.add(values) }
                guard digest.rows == snapshot.rows[table.name], digest.finish() == snapshot.digests[table.name] else {
                    throw KeywardenError(.integrity, "the \(table.name) rows read back from \(store.url.redacted) differ from those in \(sourcePath) (\(digest.rows) rows there, \(snapshot.rows[table.name] ?? 0) here); nothing was copied")
                }
            }
            guard try reader.dataVersion() == version else {
                throw KeywardenError(.conflict, "\(sourcePath) changed while it was being copied (another keywarden process, an agent serving it perhaps, wrote to it); stop it and run the copy again. Nothing was copied")
            }
            return snapshot
        }
        store.close()

        // 5. The copy as a new process finds it.
        let verified = try verifyCopy(target, credential: credential, context: context, source: sourcePath, snapshot: copied, before: before)
        defer { verified.vault.postgres?.close() }

        // 6. The copy's own record of where it came from.
        var report = Report(
            source: sourcePath, target: target.redacted, vaultID: source.vaultID, schema: schema, rows: copied.rows,
            verifiedBefore: before.checked, verifiedAfter: verified.audit.checked, unsealed: before.unsealed, auditHead: copied.head.seq,
            rowsAuthenticated: verified.rows, valuesOpened: verified.values, copyEvent: nil, warning: nil)
        do {
            try verified.vault.recordAudit(AuditDraft(
                action: "storage.copy", outcome: "ok",
                detail: "copied from \(sourcePath) at event #\(copied.head.seq): \(count(report.keys, "key")), "
                    + "\(count(report.configEntries, "config entry", "config entries")), \(count(report.auditEvents, "audit event")), schema \(schema.last ?? "-")"))
            report.copyEvent = try verified.vault.read { tx in try tx.header()?.auditHeadSeq }
        } catch {
            report.warning = "the copy is complete and verified, but its storage.copy audit event could not be written: \(error.message)"
        }
        return report
    }

    static func count(_ n: Int, _ one: String, _ many: String? = nil) -> String {
        "\(n) \(n == 1 ? one : many ?? one + "s")"
    }

    /// `body` on one snapshot of the file, its errors as messages.
    private static func readSource<T>(_ reader: ReadOnlyVaultFile, _ body: (ReadOnlyVaultFile.RawSnapshot) throws -> T) throws(KeywardenError) -> T {
        do {
            return try reader.snapshot(body)
        } catch {
            throw (error as? KeywardenError) ?? KeywardenError(.failed, "cannot read \(reader.path): \(error)")
        }
    }

    /// What the transaction copied: rows and a digest of their values per
    /// table, and the audit head the copied header records.
    struct Snapshot {
        var rows: [String: Int] = [:]
        var digests: [String: [UInt8]] = [:]
        var head = AuditAnchor.Head(seq: 0, hash: "")
    }

    /// Inserts every row of every table, read in one snapshot of the file,
    /// in dependency order; returns what was copied.
    private static func copyRows(from reader: ReadOnlyVaultFile, to target: PostgresStore.RawTarget, columns: [String: [String]],
                                 digestKey: SymmetricKey, url: DatabaseURL) throws -> Snapshot {
        try reader.snapshot { source in
            var snapshot = Snapshot()
            for table in tables {
                let names = columns[table.name]!
                var digest = TableDigest(key: digestKey)
                var rows: [[DatabaseValue]] = []
                func flush() throws {
                    do {
                        try target.insert(table.name, columns: names, rows: rows)
                    } catch {
                        let reason = PostgresConnections.describe(error, url: url).message
                        throw KeywardenError(.failed, "copying the \(table.name) rows failed: \(reason); nothing was copied")
                    }
                    rows.removeAll(keepingCapacity: true)
                }
                try source.forEachRow(table.name, columns: names) { values in
                    try digest.add(values)
                    rows.append(values)
                    // Scopes refer to their parent scope: inserted all at once, parents first.
                    if table.name != "scopes", rows.count >= 2_000 { try flush() }
                }
                if table.name == "scopes" { rows = parentsFirst(rows, columns: names) }
                try flush()
                snapshot.rows[table.name] = digest.rows
                snapshot.digests[table.name] = digest.finish()
            }
            // The header's audit head, as copied.
            try source.forEachRow("vault", columns: ["audit_head_seq", "audit_head_hash"]) { values in
                snapshot.head = AuditAnchor.Head(seq: Int64.fromDatabaseValue(values[0]) ?? 0, hash: String.fromDatabaseValue(values[1]) ?? "")
            }
            // Keyslot ids are copied; the database numbers the next one past
            // every id the file ever gave (a removed slot's id is not reused).
            var highest = try source.autoincrementSequence("keyslots") ?? 0
            try source.forEachRow("keyslots", columns: ["id"]) { values in highest = max(highest, Int64.fromDatabaseValue(values[0]) ?? 0) }
            do {
                try target.advanceIdentity("keyslots", column: "id", past: highest)
            } catch {
                let reason = PostgresConnections.describe(error, url: url).message
                throw KeywardenError(.failed, "numbering the copied keyslots failed: \(reason); nothing was copied")
            }
            return snapshot
        }
    }

    /// Scope rows ordered so that each comes after its parent (a parent
    /// missing from the rows leaves its children last, for the database to refuse).
    static func parentsFirst(_ rows: [[DatabaseValue]], columns: [String]) -> [[DatabaseValue]] {
        guard let name = columns.firstIndex(of: "name"), let parent = columns.firstIndex(of: "parent") else { return rows }
        var placed = Set<String>()
        var ordered: [[DatabaseValue]] = []
        var pending = rows
        while !pending.isEmpty {
            let isReady = { (row: [DatabaseValue]) in String.fromDatabaseValue(row[parent]).map(placed.contains) ?? true }
            let ready = pending.filter(isReady)
            if ready.isEmpty { return ordered + pending }
            pending = pending.filter { !isReady($0) }
            for row in ready { placed.insert(String.fromDatabaseValue(row[name]) ?? "") }
            ordered += ready
        }
        return ordered
    }

    /// Whether the target can take the copy: a database without tables (the
    /// vault's are created), or with Keywarden's tables and no rows in them
    /// (a failed `init` or copy leaves that); anything else is refused.
    private static func targetState(_ url: DatabaseURL, source: Vault) throws(KeywardenError) -> PostgresStore.CopyTargetState {
        let state = try PostgresStore.copyTargetState(url, vaultTables: tables.map(\.name))
        switch state {
        case .empty, .emptyVaultSchema:
            return state
        case .holdsVault(let id?) where id == source.vaultID:
            throw KeywardenError(.conflict, "\(url.redacted) already holds this vault (\(id)): it was copied there before. Use it (KEYWARDEN_DATABASE_URL=\(url.redacted)); storage copy fills only an empty database. Nothing was copied")
        case .holdsVault(let id):
            throw KeywardenError(.conflict, "\(url.redacted) already holds \(id.map { "vault \($0)" } ?? "a vault's rows"); storage copy fills only an empty database. Nothing was copied")
        case .otherTables(let names):
            throw KeywardenError(.invalidInput, "\(url.redacted) holds other tables (\(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")); copy the vault into an empty database. Nothing was copied")
        }
    }

    private static func schemaDifference(_ source: [String], _ target: [String]) -> String {
        let onlySource = Set(source).subtracting(target).sorted(), onlyTarget = Set(target).subtracting(source).sorted()
        var parts: [String] = []
        if !onlySource.isEmpty { parts.append("only the file has \(onlySource.joined(separator: ", "))") }
        if !onlyTarget.isEmpty { parts.append("only the target has \(onlyTarget.joined(separator: ", "))") }
        return parts.joined(separator: "; ")
    }

    /// Opens the committed copy as a new process would and checks it: the
    /// unlock, the chain (as long as the source's, ending at the same head),
    /// every authenticated row's MAC, every sealed value, every table's count.
    private static func verifyCopy(_ url: DatabaseURL, credential: UnlockCredential, context: VaultContext, source: String,
                                   snapshot: Snapshot, before: AuditVerification) throws(KeywardenError)
        -> (vault: Vault, audit: AuditVerification, rows: Int, values: Int) {
        func failed(_ why: String) -> KeywardenError {
            KeywardenError(.integrity, "the copy in \(url.redacted) does not check out: \(why). \(source) is unchanged; do not use the copy: drop the database (dropdb) and create it again before another try")
        }
        // Not anchored on this machine: the anchor keeps the file's head
        // (which the copy's chain reaches, as compared below) until the copy
        // is first used from here, so the file still verifies meanwhile and
        // can be copied again (after a trial copy into another database).
        var unanchored = context
        unanchored.anchorDirectory = nil
        let copy: Vault
        do {
            copy = try Vault.unlock(try VaultAddress.postgres(url).open(), with: credential, context: unanchored)
        } catch {
            throw failed("it does not open with the credential that opened the file (\(error.message))")
        }
        do {
            let audit = try copy.verifyAudit()
            guard audit.ok else { throw failed("its audit trail does not verify (\(audit.problem ?? "broken"))") }
            guard audit.checked == before.checked, audit.unsealed == before.unsealed else {
                throw failed("its audit trail has \(audit.checked) verified and \(audit.unsealed) unsealed events, the file \(before.checked) and \(before.unsealed)")
            }
            guard let header = try copy.read({ tx in try tx.header() }),
                  header.auditHeadSeq == snapshot.head.seq, header.auditHeadHash == snapshot.head.hash else {
                throw failed("its audit head is not the file's (event #\(snapshot.head.seq))")
            }
            let (rows, values) = try copy.checkEveryRow()
            let counts = try copy.postgres!.rawRead { target in
                try tables.map { ($0.name, try target.count($0.name)) }
            }
            for (table, count) in counts where count != snapshot.rows[table] {
                throw failed("it has \(count) \(table) rows, the file \(snapshot.rows[table] ?? 0)")
            }
            return (copy, audit, rows, values)
        } catch {
            copy.postgres?.close()
            guard let error = error as? KeywardenError else { throw failed("\(error)") }
            throw error.kind == .integrity && error.message.hasPrefix("the copy in") ? error : failed(error.message)
        }
    }
}

extension Vault {
    /// The anchor's path when this machine's anchor records a newer event
    /// than the store's header: the vault's history went on elsewhere.
    func anchorAheadOfStore() throws(KeywardenError) -> String? {
        guard case .valid(let anchored, let path) = AuditAnchor.state(directory: context.anchorDirectory, vaultID: vaultID, key: rowKey),
              let header = try read({ tx in try tx.header() }), anchored.seq > header.auditHeadSeq else { return nil }
        return path
    }

    /// Reads every row of every authenticated table (each fetch checks its
    /// MAC) and opens every sealed value (its tag and its binding to the
    /// row), keeping none. Returns the rows checked and the values opened.
    func checkEveryRow() throws(KeywardenError) -> (rows: Int, values: Int) {
        try read { tx in
            var rows = 0, values = 0
            if try tx.header() != nil { rows += 1 }
            rows += try tx.keyslots().count + tx.scopes().count + tx.providerRows().count
            for key in try tx.keys(KeyQuery()) {
                _ = try open(nonce: key.nonce, ciphertext: key.ciphertext, for: RowBinding(key: key))
                rows += 1
                values += 1
            }
            for entry in try tx.configEntries(scope: nil) {
                _ = try open(nonce: entry.nonce, ciphertext: entry.ciphertext, for: RowBinding(config: entry))
                rows += 1
                values += 1
            }
            rows += try tx.tokens().count + tx.rotationPolicies().count + tx.exportedFiles().count
            return (rows, values)
        }
    }
}

extension DatabaseURL {
    /// Whether `other` names the same database on the same server (users and
    /// parameters aside).
    func sameDatabase(as other: DatabaseURL) -> Bool {
        func server(_ url: DatabaseURL) -> String {
            if let socket = url.unixSocketPath { return socket }
            let host = (url.host ?? "").lowercased()
            return (DatabaseURL.isLoopback(host) ? "loopback" : host) + ":\(url.port)"
        }
        return server(self) == server(other) && database == other.database
    }
}

/// A digest of one table's rows, in any order: a keyed hash of each row's
/// values (tagged by type, as row MACs encode them), sorted, hashed. Two
/// tables with the same digest hold the same rows with the same values.
struct TableDigest {
    let key: SymmetricKey
    private(set) var rows = 0
    private var hashes: [[UInt8]] = []

    init(key: SymmetricKey) { self.key = key }

    mutating func add(_ values: [DatabaseValue]) throws {
        let fields = BoundFields(values.map { RowAuthentication.canonical(StoredValue($0)) ?? "n" })
        hashes.append(try KeyedHash.hash([fields.bytes], key: key))
        rows += 1
    }

    func finish() -> [UInt8] {
        let sorted = hashes.sorted { $0.lexicographicallyPrecedes($1) }
        return (try? KeyedHash.hash(sorted, key: key)) ?? []
    }
}

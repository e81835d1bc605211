import Foundation
import GRDB

/// One PostgreSQL transaction as the repositories see it (`StoreReading`,
/// `StoreWriting`): the same operations as `SQLiteTransaction`, in
/// PostgreSQL's dialect, on the connection the store opened the transaction
/// on. Rows are decoded and signed by the records' one mapping, through
/// `PostgresSession`.
///
/// Text is ordered `COLLATE "C"`, byte by byte as SQLite orders it: under a
/// database's own collation (`en_US.UTF-8`, ICU) `DB_URL` sorts before `DBX`,
/// so listings and exported files would come out in another order than they
/// do from a vault file.
///
/// `changesVault` records whether this transaction changed anything besides
/// observations (audit events and the head that chains them, check results,
/// traffic counts, a token's last use): only then does the store `NOTIFY`
/// the other hosts, whose agents drop their cached keys.
final class PostgresTransaction: StoreWriting {
    let session: PostgresSession
    let rows: RowAuthenticator
    private(set) var changesVault = false

    init(session: PostgresSession, rows: RowAuthenticator) {
        self.session = session
        self.rows = rows
    }

    private func changed() { changesVault = true }

    private func fetch<R: FetchableRecord>(_ type: R.Type, _ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws -> [R] {
        try session.rows(sql, arguments).map { try R(row: $0) }
    }

    private func fetchOne<R: FetchableRecord>(_ type: R.Type, _ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws -> R? {
        try fetch(type, sql, arguments).first
    }

    private func count(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws -> Int {
        Int(try session.value(sql, arguments) as Int64? ?? 0)
    }
}

// MARK: - Header and keyslots

extension PostgresTransaction {
    func header() throws -> VaultHeaderRecord? { try fetchOne(VaultHeaderRecord.self, "SELECT * FROM vault WHERE id = 1") }

    func headerMACState() throws -> (hasMAC: Bool, pending: Bool)? {
        guard let row = try session.rows("SELECT mac, row_macs_pending FROM vault WHERE id = 1").first else { return nil }
        let mac: Data? = row["mac"]
        return (mac != nil, row["row_macs_pending"])
    }

    func counts() throws -> VaultCounts {
        guard let row = try session.rows("""
            SELECT (SELECT COUNT(*) FROM keyslots) AS keyslots, (SELECT COUNT(*) FROM scopes) AS scopes,
                   (SELECT COUNT(*) FROM keys) AS keys, (SELECT COUNT(*) FROM keys WHERE state = 'active') AS active_keys,
                   (SELECT COUNT(*) FROM config_entries) AS config_entries, (SELECT COUNT(*) FROM audit_events) AS audit_events
            """).first else { return VaultCounts(keyslots: 0, scopes: 0, keys: 0, activeKeys: 0, configEntries: 0, auditEvents: 0) }
        return VaultCounts(keyslots: row["keyslots"], scopes: row["scopes"], keys: row["keys"], activeKeys: row["active_keys"],
                           configEntries: row["config_entries"], auditEvents: row["audit_events"])
    }

    func insert(_ header: VaultHeaderRecord) throws { changed(); try session.insert(header) }
    // The header holds the audit chain's head: updating it is how every
    // audit append ends, so it is not a change other hosts must hear of.
    func update(_ header: VaultHeaderRecord) throws { try session.update(header, key: ["id"]) }

    /// The chain head, locked until this transaction ends: audit appends from
    /// every host are serialized on this row, so the chain stays one chain.
    func headerForUpdate() throws -> VaultHeaderRecord? {
        try fetchOne(VaultHeaderRecord.self, "SELECT * FROM vault WHERE id = 1 FOR UPDATE")
    }

    func authenticateEveryRow() throws -> Int {
        changed()
        try session.execute("UPDATE vault SET row_macs_pending = 0")
        var count = 0
        for table in RowAuthentication.all {
            for row in try session.rows("SELECT * FROM \(table.name)") {
                let mac = try rows.expectedMAC(table) { column in StoredValue(row.hasColumn(column) ? row[column] as DatabaseValue : .null) }
                let condition = table.key.enumerated().map { "\(PostgresSession.quoted($1)) = $\($0 + 2)" }.joined(separator: " AND ")
                try session.execute("UPDATE \(table.name) SET mac = $1 WHERE \(condition)",
                                    [Data(mac)] + table.key.map { row[$0] as DatabaseValue })
                if table.name != RowAuthentication.vault.name { count += 1 }
            }
        }
        return count
    }

    func keyslots() throws -> [KeyslotRecord] { try fetch(KeyslotRecord.self, "SELECT * FROM keyslots ORDER BY id") }

    func insert(_ slot: KeyslotRecord) throws -> Int64 {
        changed()
        guard let row = try session.insert(slot, returning: "id") else { throw KeywardenError(.failed, "the new keyslot got no id") }
        return row["id"]
    }

    func update(_ slot: KeyslotRecord) throws { changed(); try session.update(slot, key: ["id"]) }
    func delete(_ slot: KeyslotRecord) throws { changed(); try session.delete(slot, key: ["id"]) }
}

// MARK: - Scopes and providers

extension PostgresTransaction {
    func scope(named name: String) throws -> ScopeRecord? { try fetchOne(ScopeRecord.self, "SELECT * FROM scopes WHERE name = $1", [name]) }
    func scopeExists(_ name: String) throws -> Bool { try count("SELECT COUNT(*) FROM scopes WHERE name = $1", [name]) > 0 }
    func scopes() throws -> [ScopeRecord] { try fetch(ScopeRecord.self, "SELECT * FROM scopes ORDER BY name COLLATE \"C\"") }

    func childScopes(of parent: String) throws -> [ScopeRecord] {
        try fetch(ScopeRecord.self, "SELECT * FROM scopes WHERE parent = $1 ORDER BY name COLLATE \"C\"", [parent])
    }

    func insert(_ scope: ScopeRecord) throws { changed(); try session.insert(scope) }
    func delete(_ scope: ScopeRecord) throws { changed(); try session.delete(scope, key: ["name"]) }

    func providerRow(named name: String) throws -> ProviderRecord? {
        try fetchOne(ProviderRecord.self, "SELECT * FROM providers WHERE name = $1", [name])
    }

    func providerRowExists(_ name: String) throws -> Bool { try count("SELECT COUNT(*) FROM providers WHERE name = $1", [name]) > 0 }
    func providerRows() throws -> [ProviderRecord] { try fetch(ProviderRecord.self, "SELECT * FROM providers ORDER BY name COLLATE \"C\"") }

    func insert(_ provider: ProviderRecord) throws { changed(); try session.insert(provider) }
    func save(_ provider: ProviderRecord) throws { changed(); try session.save(provider, key: ["name"]) }
    func delete(_ provider: ProviderRecord) throws { changed(); try session.delete(provider, key: ["name"]) }
}

// MARK: - Keys and config entries

extension PostgresTransaction {
    /// `query` as a WHERE clause with its arguments, and its ORDER BY.
    private static func sql(_ query: KeyQuery) -> (where: String, arguments: [(any DatabaseValueConvertible)?], order: String) {
        var terms: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        func term(_ column: String, _ op: String, _ value: any DatabaseValueConvertible) {
            arguments.append(value)
            terms.append("\(column) \(op) $\(arguments.count)")
        }
        if let id = query.id { term("id", "=", id) }
        if let provider = query.provider { term("provider", "=", provider) }
        if let scope = query.scope { term("scope", "=", scope) }
        if let states = query.states {
            if states.isEmpty {
                terms.append("FALSE")
            } else {
                let first = arguments.count + 1
                arguments.append(contentsOf: states.map { $0.rawValue })
                terms.append("state IN (\(PostgresSession.placeholders(states.count, from: first)))")
            }
        }
        if let env = query.env { term("env", "=", env) }
        if let fingerprint = query.fingerprint { term("fingerprint", "=", fingerprint) }
        if let upTo = query.retireAfterUpTo { term("retire_after", "<=", upTo) }
        let order = switch query.order {
        case .unspecified: ""
        case .provider: " ORDER BY provider COLLATE \"C\""
        case .createdAt: " ORDER BY created_at COLLATE \"C\""
        case .providerCreatedAt: " ORDER BY provider COLLATE \"C\", created_at COLLATE \"C\""
        case .providerScopeCreatedAt: " ORDER BY provider COLLATE \"C\", scope COLLATE \"C\", created_at COLLATE \"C\""
        case .retireAfter: " ORDER BY retire_after COLLATE \"C\""
        }
        return (terms.isEmpty ? "" : " WHERE " + terms.joined(separator: " AND "), arguments, order)
    }

    func key(id: String) throws -> KeyRecord? { try fetchOne(KeyRecord.self, "SELECT * FROM keys WHERE id = $1", [id]) }

    func keys(_ query: KeyQuery) throws -> [KeyRecord] {
        let (condition, arguments, order) = Self.sql(query)
        return try fetch(KeyRecord.self, "SELECT * FROM keys" + condition + order, arguments)
    }

    func countKeys(_ query: KeyQuery) throws -> Int {
        let (condition, arguments, _) = Self.sql(query)
        return try count("SELECT COUNT(*) FROM keys" + condition, arguments)
    }

    func keyCountsByProvider() throws -> [String: Int] {
        let rows = try session.rows("SELECT provider, COUNT(*) AS n FROM keys GROUP BY provider")
        return Dictionary(uniqueKeysWithValues: rows.map { (row: Row) in (row["provider"] as String, row["n"] as Int) })
    }

    func activePools() throws -> [Pool] {
        try session.rows("SELECT DISTINCT provider COLLATE \"C\" AS provider, scope COLLATE \"C\" AS scope FROM keys WHERE state = 'active' ORDER BY 1, 2")
            .map { Pool(provider: $0["provider"], scope: $0["scope"]) }
    }

    func insert(_ key: KeyRecord) throws { changed(); try session.insert(key) }
    func update(_ key: KeyRecord) throws { changed(); try session.update(key, key: ["id"]) }
    func delete(_ key: KeyRecord) throws { changed(); try session.delete(key, key: ["id"]) }

    // An observation (not covered by the row MAC): no NOTIFY.
    func recordCheck(keyID: String, outcome: ValidationOutcome, at time: Timestamp, detail: String) throws {
        try session.execute("UPDATE keys SET last_outcome = $1, last_checked_at = $2, last_detail = $3 WHERE id = $4",
                            [outcome, time, detail, keyID])
    }

    func configEntry(scope: String, name: String) throws -> ConfigEntryRecord? {
        try fetchOne(ConfigEntryRecord.self, "SELECT * FROM config_entries WHERE scope = $1 AND name = $2", [scope, name])
    }

    func configEntryExists(scope: String, name: String) throws -> Bool {
        try count("SELECT COUNT(*) FROM config_entries WHERE scope = $1 AND name = $2", [scope, name]) > 0
    }

    func configEntries(scope: String?) throws -> [ConfigEntryRecord] {
        guard let scope else { return try fetch(ConfigEntryRecord.self, "SELECT * FROM config_entries ORDER BY scope COLLATE \"C\", name COLLATE \"C\"") }
        return try fetch(ConfigEntryRecord.self, "SELECT * FROM config_entries WHERE scope = $1 ORDER BY name COLLATE \"C\"", [scope])
    }

    func countConfigEntries(scope: String) throws -> Int { try count("SELECT COUNT(*) FROM config_entries WHERE scope = $1", [scope]) }

    func save(_ entry: ConfigEntryRecord) throws { changed(); try session.save(entry, key: ["id"]) }
    func delete(_ entry: ConfigEntryRecord) throws { changed(); try session.delete(entry, key: ["id"]) }
}

// MARK: - Tokens, rotation policies, rotations, exported files

extension PostgresTransaction {
    func tokens() throws -> [AgentTokenRecord] { try fetch(AgentTokenRecord.self, "SELECT * FROM agent_tokens ORDER BY created_at COLLATE \"C\"") }

    func token(nameOrID: String) throws -> AgentTokenRecord? {
        try fetchOne(AgentTokenRecord.self, "SELECT * FROM agent_tokens WHERE name = $1 OR id = $1", [nameOrID])
    }

    func token(hash: String) throws -> AgentTokenRecord? { try fetchOne(AgentTokenRecord.self, "SELECT * FROM agent_tokens WHERE hash = $1", [hash]) }
    func tokenNameExists(_ name: String) throws -> Bool { try count("SELECT COUNT(*) FROM agent_tokens WHERE name = $1", [name]) > 0 }

    func insert(_ token: AgentTokenRecord) throws { changed(); try session.insert(token) }
    func update(_ token: AgentTokenRecord) throws { changed(); try session.update(token, key: ["id"]) }

    // An observation (not covered by the row MAC): no NOTIFY.
    func markTokenUsed(id: String, at time: Timestamp) throws {
        try session.execute("UPDATE agent_tokens SET last_used_at = $1 WHERE id = $2", [time, id])
    }

    func rotationPolicy(provider: String, scope: String) throws -> RotationPolicyRecord? {
        try fetchOne(RotationPolicyRecord.self, "SELECT * FROM rotation_policies WHERE provider = $1 AND scope = $2", [provider, scope])
    }

    func rotationPolicies() throws -> [RotationPolicyRecord] {
        try fetch(RotationPolicyRecord.self, "SELECT * FROM rotation_policies ORDER BY provider COLLATE \"C\", scope COLLATE \"C\"")
    }

    func rotation(id: String) throws -> RotationRecord? { try fetchOne(RotationRecord.self, "SELECT * FROM rotations WHERE id = $1", [id]) }

    private static let openSteps = RotationStage.open.map { "'\($0.rawValue)'" }.joined(separator: ", ")

    func openRotations() throws -> [RotationRecord] {
        try fetch(RotationRecord.self, "SELECT * FROM rotations WHERE step IN (\(Self.openSteps)) ORDER BY started_at COLLATE \"C\"")
    }

    func openRotation(of pool: Pool) throws -> RotationRecord? {
        try fetchOne(RotationRecord.self, "SELECT * FROM rotations WHERE provider = $1 AND scope = $2 AND step IN (\(Self.openSteps))",
                     [pool.provider, pool.scope])
    }

    func exportedFile(path: String) throws -> ExportedFileRecord? {
        try fetchOne(ExportedFileRecord.self, "SELECT * FROM exported_files WHERE path = $1", [path])
    }

    func exportedFiles() throws -> [ExportedFileRecord] { try fetch(ExportedFileRecord.self, "SELECT * FROM exported_files ORDER BY path COLLATE \"C\"") }

    func save(_ policy: RotationPolicyRecord) throws { changed(); try session.save(policy, key: ["provider", "scope"]) }
    func insert(_ rotation: RotationRecord) throws { changed(); try session.insert(rotation) }
    func update(_ rotation: RotationRecord) throws { changed(); try session.update(rotation, key: ["id"]) }
    func save(_ file: ExportedFileRecord) throws { changed(); try session.save(file, key: ["path"]) }
}

// MARK: - Audit

extension PostgresTransaction {
    func lastAuditSeq() throws -> Int64 {
        try session.value("SELECT COALESCE(MAX(seq), 0) FROM audit_events") ?? 0
    }

    func auditEvents(after seq: Int64) throws -> [AuditEventRecord] {
        try fetch(AuditEventRecord.self, "SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq", [seq])
    }

    func auditEvents(_ query: AuditQuery) throws -> [AuditEventRecord] {
        var terms: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        func term(_ sql: (String) -> String, _ value: any DatabaseValueConvertible) {
            arguments.append(value)
            terms.append(sql("$\(arguments.count)"))
        }
        if let p = query.provider { term({ "provider = \($0)" }, p) }
        if let s = query.scope { term({ "scope = \($0)" }, s) }
        if let k = query.keyID { term({ "key_id = \($0)" }, k) }
        if let a = query.action {
            // `AuditActions.matches` as SQL, as SQLiteTransaction does it.
            let literal = String(a.flatMap { $0 == "_" ? ["\\", "_"] : [$0] })
            if a.hasSuffix(".") {
                term({ "action LIKE \($0) ESCAPE '\\'" }, literal + "%")
            } else if a.contains(".") {
                term({ "action = \($0)" }, a)
            } else {
                arguments.append(contentsOf: [a, literal + ".%", "%." + literal])
                let n = arguments.count
                terms.append("(action = $\(n - 2) OR action LIKE $\(n - 1) ESCAPE '\\' OR action LIKE $\(n) ESCAPE '\\')")
            }
        }
        if let since = query.since { term({ "at >= \($0)" }, since) }
        if let outcomes = query.outcomes {
            if outcomes.isEmpty {
                terms.append("FALSE")
            } else {
                let first = arguments.count + 1
                arguments.append(contentsOf: outcomes)
                terms.append("outcome IN (\(PostgresSession.placeholders(outcomes.count, from: first)))")
            }
        }
        let condition = terms.isEmpty ? "" : " WHERE " + terms.joined(separator: " AND ")
        if let newest = query.newest {
            return try fetch(AuditEventRecord.self, "SELECT * FROM audit_events\(condition) ORDER BY seq DESC LIMIT \(max(0, newest))", arguments).reversed()
        }
        return try fetch(AuditEventRecord.self, "SELECT * FROM audit_events\(condition) ORDER BY seq", arguments)
    }

    /// Pages of 1,000 by sequence number, so a long trail is never held whole.
    func forEachAuditEvent(_ body: (AuditEventRecord) throws -> Bool) throws {
        var after: Int64 = Int64.min
        while true {
            let page = try fetch(AuditEventRecord.self, "SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 1000", [after])
            for record in page {
                guard try body(record) else { return }
            }
            guard page.count == 1000, let last = page.last else { return }
            after = last.seq
        }
    }

    func auditHash(seq: Int64) throws -> String? {
        try session.value("SELECT hash FROM audit_events WHERE seq = $1", [seq])
    }

    func insert(_ event: AuditEventRecord) throws { try session.insert(event) }

    /// PostgreSQL checks its own pages (data checksums, WAL); there is no
    /// `quick_check` to run from a client.
    func storageDamage() throws -> [String] { [] }

    func seal(seq: Int64, hash: String) throws {
        try session.execute("UPDATE audit_events SET hash = $1, recorded_locked = 1 WHERE seq = $2", [hash, seq])
    }
}

// MARK: - Gateway traffic

extension PostgresTransaction {
    func trafficByKey(fromHour hour: Timestamp) throws -> [String: KeyTraffic] {
        let rows = try session.rows("""
            SELECT key_id, SUM(ok)::bigint AS ok, SUM(failed)::bigint AS failed, SUM(rate_limited)::bigint AS rate_limited,
                   SUM(errors)::bigint AS errors
            FROM key_traffic WHERE hour >= $1 GROUP BY key_id
            """, [SQLiteTransaction.hourText(hour)])
        return KeyTraffic.byKey(rows)
    }

    func trafficTotal(fromHour hour: Timestamp) throws -> KeyTraffic {
        guard let row = try session.rows("""
            SELECT COALESCE(SUM(ok), 0)::bigint AS ok, COALESCE(SUM(failed), 0)::bigint AS failed,
                   COALESCE(SUM(rate_limited), 0)::bigint AS rate_limited, COALESCE(SUM(errors), 0)::bigint AS errors
            FROM key_traffic WHERE hour >= $1
            """, [SQLiteTransaction.hourText(hour)]).first else { return KeyTraffic() }
        return KeyTraffic(row: row)
    }

    func addTraffic(_ record: KeyTrafficRecord) throws {
        try session.execute("""
            INSERT INTO key_traffic (key_id, hour, ok, failed, rate_limited, errors) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (key_id, hour) DO UPDATE SET ok = key_traffic.ok + EXCLUDED.ok, failed = key_traffic.failed + EXCLUDED.failed,
                rate_limited = key_traffic.rate_limited + EXCLUDED.rate_limited, errors = key_traffic.errors + EXCLUDED.errors
            """, [record.keyId, SQLiteTransaction.hourText(record.hour), record.counts.ok, record.counts.failed,
                  record.counts.rateLimited, record.counts.errors])
    }

    func pruneTraffic(beforeHour hour: Timestamp) throws {
        try session.execute("DELETE FROM key_traffic WHERE hour < $1", [SQLiteTransaction.hourText(hour)])
    }
}

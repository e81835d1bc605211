import GRDB

// MARK: - Network incidents

extension SQLiteTransaction {
    func networkIncidents(since: Timestamp, limit: Int) throws -> [NetworkIncident] {
        try Row.fetchAll(db, sql: "SELECT \(NetworkIncident.columns) FROM network_incidents WHERE at >= ? ORDER BY at DESC, id LIMIT ?",
                         arguments: [since, limit]).map(NetworkIncident.init(row:))
    }

    func insert(_ incident: NetworkIncident) throws {
        try db.execute(sql: "INSERT INTO network_incidents (\(NetworkIncident.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       arguments: StatementArguments(incident.arguments.map { $0?.databaseValue ?? .null }))
    }

    func pruneNetworkIncidents(before time: Timestamp) throws {
        try db.execute(sql: "DELETE FROM network_incidents WHERE at < ?", arguments: [time])
    }
}

import GRDB

// MARK: - Network incidents

// Observations: like traffic counts they do not make the store notify the
// other hosts.
extension PostgresTransaction {
    func networkIncidents(since: Timestamp, limit: Int) throws -> [NetworkIncident] {
        try session.rows("SELECT \(NetworkIncident.columns) FROM network_incidents WHERE at >= $1 ORDER BY at COLLATE \"C\" DESC, id COLLATE \"C\" LIMIT $2",
                         [since, Int64(limit)]).map(NetworkIncident.init(row:))
    }

    func insert(_ incident: NetworkIncident) throws {
        try session.execute("INSERT INTO network_incidents (\(NetworkIncident.columns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            incident.arguments)
    }

    func pruneNetworkIncidents(before time: Timestamp) throws {
        try session.execute("DELETE FROM network_incidents WHERE at < $1", [time])
    }
}

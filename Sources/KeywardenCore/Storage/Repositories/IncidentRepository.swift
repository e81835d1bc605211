import GRDB

/// Network incidents (0009): observations, not authenticated by a row MAC.
protocol IncidentReading {
    /// The incidents at or after `since`, newest first, at most `limit`.
    func networkIncidents(since: Timestamp, limit: Int) throws -> [NetworkIncident]
}

protocol IncidentWriting: IncidentReading {
    func insert(_ incident: NetworkIncident) throws
    /// Deletes the incidents before `time`.
    func pruneNetworkIncidents(before time: Timestamp) throws
}

extension NetworkIncident {
    /// The columns in insert order, shared by both backends.
    static let columns = "id, at, provider, scope, key_id, outcome, source, verdict, host"

    var arguments: [(any DatabaseValueConvertible)?] { [id, at, provider, scope, keyID, outcome, source, verdict, host] }

    /// A row of `network_incidents`; an outcome that is not a network one
    /// (the schema refuses those) reads as a timeout.
    init(row: Row) {
        self.init(id: row["id"], at: row["at"], provider: row["provider"], scope: row["scope"], keyID: row["key_id"],
                  outcome: row["outcome"] ?? .timeout, source: row["source"], verdict: row["verdict"], host: row["host"])
    }
}

import GRDB

// MARK: - Gateway traffic

// `key_traffic.hour` is text in the form 2026-01-31T12:00:00Z (whole hours,
// no milliseconds), so SQL compares hours as text.

extension SQLiteTransaction {
    /// The stored form of the hour that contains `time`.
    static func hourText(_ time: Timestamp) -> String {
        String(time.startOfHour.iso8601.prefix(19)) + "Z"
    }

    func trafficByKey(fromHour hour: Timestamp) throws -> [String: KeyTraffic] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT key_id, SUM(ok) AS ok, SUM(failed) AS failed, SUM(rate_limited) AS rate_limited, SUM(errors) AS errors
            FROM key_traffic WHERE hour >= ? GROUP BY key_id
            """, arguments: [Self.hourText(hour)])
        return KeyTraffic.byKey(rows)
    }

    func trafficTotal(fromHour hour: Timestamp) throws -> KeyTraffic {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT COALESCE(SUM(ok), 0) AS ok, COALESCE(SUM(failed), 0) AS failed,
                   COALESCE(SUM(rate_limited), 0) AS rate_limited, COALESCE(SUM(errors), 0) AS errors
            FROM key_traffic WHERE hour >= ?
            """, arguments: [Self.hourText(hour)]) else { return KeyTraffic() }
        return KeyTraffic(row: row)
    }

    func addTraffic(_ record: KeyTrafficRecord) throws {
        // Cached: one flush adds a row per key and caller.
        try db.cachedStatement(sql: """
            INSERT INTO key_traffic (key_id, hour, ok, failed, rate_limited, errors) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (key_id, hour) DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed,
                rate_limited = rate_limited + excluded.rate_limited, errors = errors + excluded.errors
            """).execute(arguments: [record.keyId, Self.hourText(record.hour), record.counts.ok, record.counts.failed,
                                     record.counts.rateLimited, record.counts.errors])
    }

    func pruneTraffic(beforeHour hour: Timestamp) throws {
        try db.execute(sql: "DELETE FROM key_traffic WHERE hour < ?", arguments: [Self.hourText(hour)])
    }
}

// The sums as both backends return them (rows of `key_id`, `ok`, `failed`,
// `rate_limited`, `errors`; PostgreSQL casts its sums to bigint).
extension KeyTraffic {
    init(row: Row) {
        self.init(ok: row["ok"], failed: row["failed"], rateLimited: row["rate_limited"], errors: row["errors"])
    }

    /// Each key's counts, keys without traffic left out.
    static func byKey(_ rows: [Row]) -> [String: KeyTraffic] {
        var result: [String: KeyTraffic] = [:]
        for row in rows {
            let traffic = KeyTraffic(row: row)
            if traffic.total > 0 { result[row["key_id"]] = traffic }
        }
        return result
    }
}

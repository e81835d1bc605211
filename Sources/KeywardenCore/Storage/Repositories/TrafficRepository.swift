/// The gateway's traffic per key and hour, for the last-24-hours view.
protocol TrafficReading {
    /// Each key's counts summed over the hours that start at or after `hour`,
    /// by key id; a key without any is absent.
    func trafficByKey(fromHour hour: Timestamp) throws -> [String: KeyTraffic]
    /// Every key's counts summed over the hours that start at or after `hour`.
    func trafficTotal(fromHour hour: Timestamp) throws -> KeyTraffic
}

protocol TrafficWriting: TrafficReading {
    /// Adds the record's counts to its key's row for its hour, creating the row.
    func addTraffic(_ record: KeyTrafficRecord) throws
    /// Deletes the rows of the hours that start before `hour`.
    func pruneTraffic(beforeHour hour: Timestamp) throws
}

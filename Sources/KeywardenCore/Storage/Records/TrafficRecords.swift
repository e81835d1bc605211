/// `key_traffic`: the gateway's counts for one key in one hour. Observations
/// (like `keys.last_outcome`), so not authenticated by a row MAC.
struct KeyTrafficRecord: Sendable, Equatable {
    var keyId: String
    /// The start of the hour, UTC.
    var hour: Timestamp
    var counts: KeyTraffic
}

/// `key_headroom` (0010): each key's last reported balance and rate-limit
/// headroom. Observations, like `keys.last_outcome`: no row MAC.
protocol HeadroomReading {
    /// Every key's row, by key id.
    func headroom() throws -> [String: KeyHeadroomRecord]
}

protocol HeadroomWriting: HeadroomReading {
    /// Replaces the key's balance (its rate limits stay).
    func recordBalance(keyID: String, _ balance: KeyBalance) throws
    /// Replaces the key's rate-limit headroom (its balance stays).
    func recordRateLimits(keyID: String, _ rateLimits: RateLimitHeadroom) throws
}

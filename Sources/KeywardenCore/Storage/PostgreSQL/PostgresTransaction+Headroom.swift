import GRDB

// MARK: - Balances and rate-limit headroom (0010)

// Observations: they do not set `changesVault`, so no other host is told
// to drop its cached keys.
extension PostgresTransaction {
    func headroom() throws -> [String: KeyHeadroomRecord] {
        var result: [String: KeyHeadroomRecord] = [:]
        for row in try session.rows(KeyHeadroomRecord.selectAll) {
            let record = KeyHeadroomRecord(row: row)
            result[record.keyId] = record
        }
        return result
    }

    func recordBalance(keyID: String, _ balance: KeyBalance) throws {
        try session.execute(KeyHeadroomRecord.numbered(KeyHeadroomRecord.upsertBalance), [keyID, balance.amount, balance.currency, balance.checkedAt])
    }

    func recordRateLimits(keyID: String, _ rateLimits: RateLimitHeadroom) throws {
        try session.execute(KeyHeadroomRecord.numbered(KeyHeadroomRecord.upsertRateLimits), [keyID, try KeyHeadroomRecord.encoded(rateLimits)])
    }
}

import GRDB

// MARK: - Balances and rate-limit headroom (0010)

extension SQLiteTransaction {
    func headroom() throws -> [String: KeyHeadroomRecord] {
        var result: [String: KeyHeadroomRecord] = [:]
        for row in try Row.fetchAll(db, sql: KeyHeadroomRecord.selectAll) {
            let record = KeyHeadroomRecord(row: row)
            result[record.keyId] = record
        }
        return result
    }

    func recordBalance(keyID: String, _ balance: KeyBalance) throws {
        try db.execute(sql: KeyHeadroomRecord.upsertBalance, arguments: [keyID, balance.amount, balance.currency, balance.checkedAt])
    }

    func recordRateLimits(keyID: String, _ rateLimits: RateLimitHeadroom) throws {
        try db.cachedStatement(sql: KeyHeadroomRecord.upsertRateLimits).execute(arguments: [keyID, try KeyHeadroomRecord.encoded(rateLimits)])
    }
}

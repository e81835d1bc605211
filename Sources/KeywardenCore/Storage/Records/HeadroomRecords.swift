import Foundation
import GRDB

/// One row of `key_headroom`.
struct KeyHeadroomRecord: Sendable, Equatable {
    var keyId: String
    var balance: KeyBalance?
    var rateLimits: RateLimitHeadroom?

    /// The row as both backends return it. A rate-limit document that does
    /// not decode is dropped: it is an observation, and the next one replaces it.
    init(row: Row) {
        keyId = row["key_id"]
        let amount: String? = row["balance"]
        let at: Timestamp? = row["balance_at"]
        if let amount, let at { balance = KeyBalance(amount: amount, currency: row["currency"], checkedAt: at) }
        if let text: String = row["rate_limits"] {
            rateLimits = try? JSONDecoder().decode(RateLimitHeadroom.self, from: Data(text.utf8))
        }
    }

    /// The SQL both dialects share, with `?` placeholders (PostgreSQL's
    /// session numbers them); the column types are the same text in both.
    static let selectAll = "SELECT key_id, balance, currency, balance_at, rate_limits FROM key_headroom"
    static let upsertBalance = """
        INSERT INTO key_headroom (key_id, balance, currency, balance_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (key_id) DO UPDATE SET balance = excluded.balance, currency = excluded.currency, balance_at = excluded.balance_at
        """
    static let upsertRateLimits = """
        INSERT INTO key_headroom (key_id, rate_limits) VALUES (?, ?)
        ON CONFLICT (key_id) DO UPDATE SET rate_limits = excluded.rate_limits
        """

    static func encoded(_ rateLimits: RateLimitHeadroom) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(rateLimits), as: UTF8.self)
    }

    /// `?` → `$1`, `$2`, … for PostgreSQL.
    static func numbered(_ sql: String) -> String {
        var out = "", n = 0
        for c in sql {
            if c == "?" { n += 1; out += "$\(n)" } else { out.append(c) }
        }
        return out
    }
}

import Foundation

/// Where a provider tells a key's balance without spending tokens: the
/// probe's own answer (DeepSeek's `GET /user/balance`, OpenRouter's
/// `GET /api/v1/key`) or a request of its own (Moonshot's
/// `GET /v1/users/me/balance`), and which JSON fields hold the amount and
/// the currency.
public struct BalanceProbe: Codable, Sendable, Equatable {
    /// A `GET` path appended to the base URL; nil when the probe's answer
    /// carries the balance.
    public var path: String?
    /// Dotted JSON path of the amount (`balance_infos.0.total_balance`,
    /// `data.limit_remaining`). A `null` there means "no limit": nothing is recorded.
    public var amount: String
    /// Dotted JSON path of the currency, when the answer names it.
    public var currencyField: String?
    /// The currency when the answer does not name it (`USD`).
    public var currency: String?
    /// Currencies by base-URL host, over `currency` (Moonshot: `api.moonshot.cn` bills in CNY).
    public var currencyByHost: [String: String]?

    enum CodingKeys: String, CodingKey { case path, amount, currencyField = "currency_field", currency, currencyByHost = "currency_by_host" }

    public init(path: String? = nil, amount: String, currencyField: String? = nil, currency: String? = nil, currencyByHost: [String: String]? = nil) {
        (self.path, self.amount, self.currencyField, self.currency, self.currencyByHost) = (path, amount, currencyField, currency, currencyByHost)
    }

    /// The balance in `body`, or nil when the answer has none (not JSON,
    /// the field missing or `null`, or not a number).
    public func read(_ body: [UInt8], host: String?, at time: Timestamp) -> KeyBalance? {
        guard let json = JSONValue.parse(body) else { return nil }
        let path = amount.split(separator: ".").map(String.init)
        // Decimal text only: Double() also takes "nan", "inf" and hex, and a NaN balance would never trip --warn-below.
        guard let text = json.values(at: path).first, text.count <= 40, Self.isDecimal(text) else { return nil }
        var unit = currency
        if let host = host?.lowercased(), let byHost = currencyByHost?[host] { unit = byHost }
        if let field = currencyField, let named = json.values(at: field.split(separator: ".").map(String.init)).first,
           !named.isEmpty, named.count <= 8, named.allSatisfy({ $0.isLetter }) {
            unit = named.uppercased()
        }
        return KeyBalance(amount: text, currency: unit, checkedAt: time)
    }

    /// `-12`, `3.20`, `0.5`: an optional minus, digits, an optional fraction.
    static func isDecimal(_ text: String) -> Bool {
        var digits = Substring(text)
        if digits.first == "-" { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCII), whole.allSatisfy(\.isNumber) else { return false }
        guard parts.count == 2 else { return true }
        return !parts[1].isEmpty && parts[1].allSatisfy(\.isASCII) && parts[1].allSatisfy(\.isNumber)
    }
}

import Foundation
import KeywardenCore

extension MockProviderServer {
    /// While set, a key containing `marker` has `amount` (decimal text such as
    /// `"12.50"`, `"0"`, `"-0.07"`) left: the providers' balance endpoints
    /// (DeepSeek `GET /user/balance`, OpenRouter `GET /api/v1/key`, Moonshot
    /// `GET /v1/users/me/balance`) report it in their real shapes, and at
    /// zero or below every other request of the key gets the provider's
    /// documented out-of-credit answer (`nocredit`), as a drained account
    /// would. nil clears it. A test drains a key with `setBalance(forKeyContaining: "alpha", "0")`
    /// and restores it with `"25.00"`.
    public func setBalance(forKeyContaining marker: String, _ amount: String?) {
        state.setBalance(forKeyContaining: marker, amount)
    }
}

/// The balance endpoints the mock plays, and the answers in each provider's shape.
enum MockBalances {
    /// Balances reported when none was set for the key.
    static let defaults = ["deepseek": "110.00", "openrouter": "74.5", "moonshot": "49.58"]

    /// Whether `path` (after `/<provider>`, with the provider's own prefix
    /// such as OpenRouter's `/api`) is `provider`'s balance endpoint.
    static func isBalancePath(_ provider: String, _ path: String) -> Bool {
        switch provider {
        case "deepseek": path.hasSuffix("/user/balance")
        case "openrouter": path.hasSuffix("/v1/key")
        case "moonshot": path.hasSuffix("/v1/users/me/balance")
        default: false
        }
    }

    /// The answer of `provider`'s balance endpoint with `amount` left.
    static func answer(_ provider: String, amount: String) -> ProbeResponse? {
        let value = Double(amount) ?? 0
        // Where the provider answers a JSON number: as a JSON encoder writes it (0, 12.5).
        let number = value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        let body: String
        switch provider {
        case "deepseek":
            // https://api-docs.deepseek.com/api/get-user-balance: amounts are strings.
            body = #"{"is_available":\#(value > 0),"balance_infos":[{"currency":"CNY","total_balance":"\#(amount)","granted_balance":"0.00","topped_up_balance":"\#(amount)"}]}"#
        case "openrouter":
            // https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key: numbers; limit_remaining of the key's limit.
            body = #"{"data":{"label":"sk-or-v1-au7...890","limit":100,"usage":\#(100 - value),"is_free_tier":false,"is_provisioning_key":false,"limit_remaining":\#(number),"limit_reset":"monthly","include_byok_in_limit":false,"expires_at":null}}"#
        case "moonshot":
            // https://platform.moonshot.ai/docs/api/balance: no currency field; numbers.
            body = #"{"code":0,"data":{"available_balance":\#(number),"voucher_balance":0,"cash_balance":\#(number)},"scode":"0x0","status":true}"#
        default:
            return nil
        }
        return ProbeResponse(status: 200, headers: [("content-type", "application/json")], body: body)
    }

    /// Rate-limit headers as the provider sends them on a 2xx (none for
    /// providers that send none), `remaining` counting down with the key's requests.
    static func rateLimitHeaders(_ provider: String, requests: Int) -> [(String, String)] {
        switch provider {
        case "anthropic":
            // https://docs.anthropic.com/en/api/rate-limits#response-headers
            return [("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", String(max(0, 50 - requests))),
                    ("anthropic-ratelimit-requests-reset", "2026-11-30T01:00:00Z"),
                    ("anthropic-ratelimit-tokens-limit", "40000"), ("anthropic-ratelimit-tokens-remaining", "39000"),
                    ("anthropic-ratelimit-tokens-reset", "2026-11-30T01:00:00Z")]
        case "openai", "groq":
            // https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
            return [("x-ratelimit-limit-requests", "500"), ("x-ratelimit-remaining-requests", String(max(0, 500 - requests))),
                    ("x-ratelimit-reset-requests", "120ms"),
                    ("x-ratelimit-limit-tokens", "30000"), ("x-ratelimit-remaining-tokens", "29000"), ("x-ratelimit-reset-tokens", "2s")]
        default:
            return []
        }
    }
}

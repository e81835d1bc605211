extension BuiltinProvider {
    /// OpenRouter. Probe: `GET /api/v1/key`, which also reports the key's credit limit.
    static let openrouter = BuiltinProvider(definition: openrouterDefinition, rules: openrouterRules, answers: openrouterAnswers)

    private static let openrouterDefinition = ProviderDefinition(
        name: "openrouter",
        displayName: "OpenRouter",
        baseURL: "https://openrouter.ai/api",
        auth: .bearer,
        env: "OPENROUTER_API_KEY",
        keyFormat: KeyFormat(
            pattern: #"sk-or-v1-[0-9A-Fa-f]{64}"#,
            prefixes: ["sk-or-v1-", "sk-or-"],
            description: "sk-or-v1- followed by 64 hexadecimal characters"
        ),
        probe: Probe(method: "GET", path: "/v1/key"),
        consoleURL: "https://openrouter.ai/settings/keys",
        sdkBasePath: "/api/v1",
        // https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key: the probe's answer; credits are USD,
        // limit_remaining is null for a key without a credit limit (nothing recorded then).
        balance: BalanceProbe(amount: "data.limit_remaining", currency: "USD")
    )

    // MARK: Rules
    // GET /api/v1/key → {"data":{"label","limit","usage","limit_remaining","is_free_tier","limit_reset",…}};
    // errors {"error":{"code":<int>,"message","metadata"}}. https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key

    private static let openrouterRules: [OutcomeRule] = [
        // limit_remaining is null when the key has no limit. Numbers compare as JSON text, hence both spellings.
        OutcomeRule(status: [200], json: [JSONMatch("data.limit_remaining", equals: "0")], outcome: .noCredit,
                    reason: "OpenRouter: the key's credit limit is used up (limit_remaining 0)",
                    fix: "raise the key's limit at https://openrouter.ai/settings/keys"),
        OutcomeRule(status: [200], json: [JSONMatch("data.limit_remaining", equals: "0.0")], outcome: .noCredit,
                    reason: "OpenRouter: the key's credit limit is used up (limit_remaining 0)",
                    fix: "raise the key's limit at https://openrouter.ai/settings/keys"),
        // Overspent keys report a negative remainder; rules cannot compare numbers, so this reads the compact JSON text.
        OutcomeRule(status: [200], bodyContains: ["\"limit_remaining\":-"], outcome: .noCredit,
                    reason: "OpenRouter: the key is over its credit limit (negative limit_remaining)",
                    fix: "raise the key's limit at https://openrouter.ai/settings/keys"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "OpenRouter: the key was rejected (401, e.g. \"User not found.\")",
                    fix: "the key is wrong, deleted or expired: create a new one at https://openrouter.ai/settings/keys"),
        OutcomeRule(status: [402], outcome: .noCredit,
                    reason: "OpenRouter: insufficient credits (402)",
                    fix: "add credits at https://openrouter.ai/settings/credits"),
        // 403 is the moderation refusal of a request's content; it says nothing bad about the key, but the key
        // cannot be shown to work either, so it stays forbidden rather than valid.
        OutcomeRule(status: [403], outcome: .forbidden,
                    reason: "OpenRouter: request refused (403, moderation or key restriction)",
                    fix: "check the metadata in the body; the key may be fine for other requests"),
    ]

    // MARK: Documented answers

    private static let openrouterKey = "https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key"

    private static let openrouterAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, [json],
            #"{"data":{"label":"sk-or-v1-au7...890","limit":100,"usage":25.5,"usage_daily":0.42,"usage_weekly":3.1,"usage_monthly":25.5,"byok_usage":0,"byok_usage_daily":0,"byok_usage_weekly":0,"byok_usage_monthly":0,"is_free_tier":false,"is_provisioning_key":false,"limit_remaining":74.5,"limit_reset":"monthly","include_byok_in_limit":false,"expires_at":null,"rate_limit":{"requests":-1,"interval":"10s","note":"This field is deprecated and safe to ignore."}}}"#,
            openrouterKey),
        answer("invalid", .invalid, 401, [json],
            #"{"error":{"message":"User not found.","code":401}}"#,
            "commonly reported OpenRouter 401; reference table"),
        answer("nocredit", .noCredit, 402, [json],
            #"{"error":{"message":"Insufficient credits. Add more using https://openrouter.ai/settings/credits","code":402}}"#,
            "https://github.com/hackclub/ai/issues/128"),
        answer("keylimit", .noCredit, 200, [json],
            #"{"data":{"label":"sk-or-v1-3c1...e4f","limit":5,"usage":5,"is_free_tier":false,"is_provisioning_key":false,"limit_remaining":0,"limit_reset":null,"include_byok_in_limit":false,"rate_limit":{"requests":-1,"interval":"10s"}}}"#,
            openrouterKey + " (limit_remaining)"),
        answer("overspent", .noCredit, 200, [json],
            #"{"data":{"label":"sk-or-v1-9b2...a07","limit":5,"usage":5.0731,"is_free_tier":false,"is_provisioning_key":false,"limit_remaining":-0.0731,"limit_reset":null,"include_byok_in_limit":false,"rate_limit":{"requests":-1,"interval":"10s"}}}"#,
            openrouterKey + " (negative remainder after overspend: inferred)"),
        answer("ratelimited", .rateLimited, 429, [json, ("retry-after", "1"), ("x-ratelimit-limit", "20"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1750000001000")],
            #"{"error":{"message":"Rate limit exceeded: free-models-per-min. ","code":429,"metadata":{"headers":{"X-RateLimit-Limit":"20","X-RateLimit-Remaining":"0","X-RateLimit-Reset":"1750000001000"},"provider_name":null}}}"#,
            "https://openrouter.ai/docs/api-reference/limits"),
        answer("unavailable", .providerError, 503, [json],
            #"{"error":{"message":"Service temporarily unavailable","code":503}}"#,
            "reference table (502/503)"),
    ]
}

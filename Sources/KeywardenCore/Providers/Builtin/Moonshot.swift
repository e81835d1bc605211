extension BuiltinProvider {
    /// Moonshot AI (Kimi). Probe: `GET /v1/models`.
    static let moonshot = BuiltinProvider(definition: moonshotDefinition, rules: moonshotRules, answers: moonshotAnswers)

    // Keys from platform.moonshot.cn only work against https://api.moonshot.cn
    // (override with --base-url). Key length after sk- is observed (about
    // 48), not documented.
    private static let moonshotDefinition = ProviderDefinition(
        name: "moonshot",
        displayName: "Moonshot AI (Kimi)",
        baseURL: "https://api.moonshot.ai",
        auth: .bearer,
        env: "MOONSHOT_API_KEY",
        alternateEnv: ["KIMI_API_KEY"],
        keyFormat: KeyFormat(
            pattern: #"sk-[A-Za-z0-9]{20,80}"#,
            prefixes: ["sk-"],
            description: "sk- followed by letters and digits (about 48)"
        ),
        probe: Probe(method: "GET", path: "/v1/models"),
        consoleURL: "https://platform.moonshot.ai/console/api-keys",
        sdkBasePath: "/v1",
        // https://platform.moonshot.ai/docs/api/balance: a request of its own; no currency field: api.moonshot.ai
        // bills in USD, api.moonshot.cn in CNY. available_balance <= 0 means calls are refused.
        balance: BalanceProbe(path: "/v1/users/me/balance", amount: "data.available_balance", currency: "USD",
                              currencyByHost: ["api.moonshot.cn": "CNY"])
    )

    // MARK: Rules
    // Body: {"error":{"message","type"}}. https://platform.moonshot.ai/docs/api/chat#error-explanation

    private static let moonshotRules: [OutcomeRule] = [
        // "Your account {org}<{ak}> is suspended, please check your plan and billing details"; documented as 429,
        // matched on any status because the type is unambiguous.
        OutcomeRule(json: [JSONMatch("error.type", equals: "exceeded_current_quota_error")], outcome: .noCredit,
                    reason: "Moonshot: account suspended for insufficient balance (exceeded_current_quota_error)",
                    fix: "recharge at https://platform.moonshot.ai/console/pay (keys from platform.moonshot.cn recharge there)"),
        // Kimi's help centre: "A 403 error typically indicates insufficient account balance". Body not confirmed.
        OutcomeRule(status: [403], bodyContains: ["balance"], outcome: .noCredit,
                    reason: "Moonshot: insufficient balance (403)",
                    fix: "recharge at https://platform.moonshot.ai/console/pay"),
        OutcomeRule(status: [429], json: [JSONMatch("error.type", equals: "engine_overloaded_error")], outcome: .providerError,
                    reason: "Moonshot: the engine is overloaded (429 engine_overloaded_error)",
                    fix: "retry later; this is not your rate limit"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "Moonshot: rate limit reached (429 rate_limit_reached_error)",
                    fix: "wait the seconds the message gives; recharging raises the tier's limits"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "Moonshot: invalid authentication (401 invalid_authentication_error)",
                    fix: "create a new key at https://platform.moonshot.ai/console/api-keys; keys from platform.moonshot.cn need base URL https://api.moonshot.cn"),
        OutcomeRule(status: [403], outcome: .forbidden,
                    reason: "Moonshot: permission denied (403 permission_denied_error)",
                    fix: "check the key's project and permissions in the console"),
    ]

    // MARK: Documented answers

    private static let moonshotErrors = "https://platform.moonshot.ai/docs/api/chat#error-explanation"
    private static func moonshotHeaders(_ id: String) -> [(String, String)] {
        [json, ("msh-request-id", id)]
    }

    private static let moonshotAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, moonshotHeaders("c4a1e8f2-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
            #"{"object":"list","data":[{"id":"kimi-k2-0905-preview","object":"model","created":1757030400,"owned_by":"moonshot","root":"kimi-k2-0905-preview","parent":"","permission":[]},{"id":"moonshot-v1-8k","object":"model","created":1712000000,"owned_by":"moonshot","root":"moonshot-v1-8k","parent":"","permission":[]}]}"#,
            "https://platform.moonshot.ai/docs/api/list-models"),
        answer("invalid", .invalid, 401, moonshotHeaders("c4a1e8f3-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
            #"{"error":{"message":"Invalid Authentication","type":"invalid_authentication_error"}}"#,
            moonshotErrors),
        answer("nocredit", .noCredit, 429, moonshotHeaders("c4a1e8f4-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
            #"{"error":{"message":"Your account org-4f2a8c1e9b3d<ak-e7b2c9a4f1d8> is suspended, please check your plan and billing details","type":"exceeded_current_quota_error"}}"#,
            "https://forum.moonshot.ai/t/api-billing-behaviour/111"),
        answer("lowbalance", .noCredit, 403, moonshotHeaders("c4a1e8f5-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
            #"{"error":{"message":"Your account org-4f2a8c1e9b3d<ak-e7b2c9a4f1d8> is suspended due to insufficient balance, please recharge your account or check your plan and billing details","type":"permission_denied_error"}}"#,
            "https://www.kimi.com/help/kimi-api/api-troubleshooting (403 = insufficient balance; body shape unconfirmed)"),
        answer("ratelimited", .rateLimited, 429, moonshotHeaders("c4a1e8f6-7b3d-11f0-9a2c-5e6f7a8b9c0d") + [("retry-after", "1")],
            #"{"error":{"message":"Your account org-4f2a8c1e9b3d<ak-e7b2c9a4f1d8> request reached organization max RPM: 3, please try again after 1 seconds","type":"rate_limit_reached_error"}}"#,
            "https://github.com/harry0703/MoneyPrinterTurbo/issues/339"),
        answer("overloaded", .providerError, 429, moonshotHeaders("c4a1e8f7-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
            #"{"error":{"message":"The engine is currently overloaded, please try again later","type":"engine_overloaded_error"}}"#,
            moonshotErrors),
        answer("forbidden", .forbidden, 403, moonshotHeaders("c4a1e8f8-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
            #"{"error":{"message":"The API you are accessing is not open","type":"permission_denied_error"}}"#,
            moonshotErrors),
    ]
}

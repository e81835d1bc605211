extension BuiltinProvider {
    /// DeepSeek. Probe: `GET /user/balance`, which also says whether the balance can pay for calls.
    static let deepseek = BuiltinProvider(definition: deepseekDefinition, rules: deepseekRules, answers: deepseekAnswers)

    private static let deepseekDefinition = ProviderDefinition(
        name: "deepseek",
        displayName: "DeepSeek",
        baseURL: "https://api.deepseek.com",
        auth: .bearer,
        env: "DEEPSEEK_API_KEY",
        keyFormat: KeyFormat(
            pattern: #"sk-[A-Za-z0-9]{24,64}"#,
            prefixes: ["sk-"],
            description: "sk- followed by 32 lowercase hexadecimal characters"
        ),
        probe: Probe(method: "GET", path: "/user/balance"),
        consoleURL: "https://platform.deepseek.com/api_keys",
        // https://api-docs.deepseek.com/api/get-user-balance: the probe's answer; amounts are strings, one entry per currency.
        balance: BalanceProbe(amount: "balance_infos.0.total_balance", currencyField: "balance_infos.0.currency")
    )

    // MARK: Rules
    // https://api-docs.deepseek.com/quick_start/error_codes ; GET /user/balance → {"is_available","balance_infos"}.

    private static let deepseekRules: [OutcomeRule] = [
        OutcomeRule(status: [200], json: [JSONMatch("is_available", equals: "false")], outcome: .noCredit,
                    reason: "DeepSeek: the balance is not enough for API calls (is_available: false)",
                    fix: "top up at https://platform.deepseek.com/top_up"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "DeepSeek: authentication fails, wrong API key (401)",
                    fix: "create a new key at https://platform.deepseek.com/api_keys"),
        OutcomeRule(status: [402], outcome: .noCredit,
                    reason: "DeepSeek: insufficient balance (402)",
                    fix: "top up at https://platform.deepseek.com/top_up"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "DeepSeek: rate limit reached (429)",
                    fix: "slow down and retry"),
        OutcomeRule(status: [503], outcome: .providerError,
                    reason: "DeepSeek: server overloaded (503)",
                    fix: "retry later; check https://status.deepseek.com"),
    ]

    // MARK: Documented answers

    private static let deepseekErrors = "https://api-docs.deepseek.com/quick_start/error_codes"

    private static let deepseekAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, [json],
            #"{"is_available":true,"balance_infos":[{"currency":"CNY","total_balance":"110.00","granted_balance":"10.00","topped_up_balance":"100.00"}]}"#,
            "https://api-docs.deepseek.com/api/get-user-balance"),
        answer("invalid", .invalid, 401, [json],
            #"{"error":{"message":"Authentication Fails, Your api key: ****a1b2 is invalid","type":"authentication_error","param":null,"code":"invalid_request_error"}}"#,
            deepseekErrors),
        answer("nocredit", .noCredit, 402, [json],
            #"{"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}}"#,
            deepseekErrors),
        answer("unavailablebalance", .noCredit, 200, [json],
            #"{"is_available":false,"balance_infos":[{"currency":"CNY","total_balance":"0.00","granted_balance":"0.00","topped_up_balance":"0.00"}]}"#,
            "https://api-docs.deepseek.com/api/get-user-balance"),
        answer("ratelimited", .rateLimited, 429, [json, ("retry-after", "1")],
            #"{"error":{"message":"Rate Limit Reached","type":"rate_limit_error","param":null,"code":"rate_limit_reached"}}"#,
            deepseekErrors + " (body wording unconfirmed)"),
        answer("overloaded", .providerError, 503, [json],
            #"{"error":{"message":"Server Overloaded","type":"server_error","param":null,"code":"server_overloaded"}}"#,
            deepseekErrors + " (body wording unconfirmed)"),
    ]
}

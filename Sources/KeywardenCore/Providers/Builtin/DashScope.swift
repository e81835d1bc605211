extension BuiltinProvider {
    /// Alibaba Cloud DashScope (Qwen), OpenAI-compatible mode. Probe: `GET /compatible-mode/v1/models`.
    static let dashscope = BuiltinProvider(definition: dashscopeDefinition, rules: dashscopeRules, answers: dashscopeAnswers)

    // Region-bound: international keys need https://dashscope-intl.aliyuncs.com/compatible-mode
    // (a key used in the wrong region gets 401 InvalidApiKey). Key format
    // observed (sk- and 32 hex; Coding Plan keys sk-sp-…), not documented.
    private static let dashscopeDefinition = ProviderDefinition(
        name: "dashscope",
        displayName: "Alibaba Cloud DashScope (Qwen)",
        baseURL: "https://dashscope.aliyuncs.com/compatible-mode",
        auth: .bearer,
        env: "DASHSCOPE_API_KEY",
        keyFormat: KeyFormat(
            pattern: #"sk-[A-Za-z0-9_-]{20,80}"#,
            prefixes: ["sk-sp-", "sk-"],
            description: "sk- followed by 32 hexadecimal characters"
        ),
        probe: Probe(method: "GET", path: "/v1/models"),
        consoleURL: "https://bailian.console.aliyun.com/?apiKey=1",
        sdkBasePath: "/compatible-mode/v1"
    )

    // MARK: Rules
    // Body: {"error":{"message","type","param","code"},"request_id"} (native API: {"code","message","request_id"}).
    // https://www.alibabacloud.com/help/en/model-studio/error-code

    private static let dashscopeRules: [OutcomeRule] = [
        // 400 Arrearage: "Access denied, please make sure your account is in good standing."
        OutcomeRule(bodyContains: ["arrearage"], outcome: .noCredit,
                    reason: "DashScope: the Alibaba Cloud account is in arrears (400 Arrearage)",
                    fix: "top up the Alibaba Cloud account (Expenses and Costs console), then retry"),
        // 403 AllocationQuota.FreeTierOnly: free quota used up while "use free tier only" is on.
        OutcomeRule(status: [403], bodyContains: ["freetieronly"], outcome: .noCredit,
                    reason: "DashScope: the model's free quota is used up and only the free tier is allowed (403 AllocationQuota.FreeTierOnly)",
                    fix: "turn off \"use free tier only\" for the model in the Model Studio console, or use another model"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "DashScope: invalid API key (401 InvalidApiKey), or a key used in the wrong region",
                    fix: "create a key at https://bailian.console.aliyun.com/?apiKey=1; international keys need base URL https://dashscope-intl.aliyuncs.com/compatible-mode"),
        OutcomeRule(status: [403], bodyContains: ["unpurchased"], outcome: .forbidden,
                    reason: "DashScope: the model is not activated for this account (403 AccessDenied.Unpurchased)",
                    fix: "activate Model Studio / the model in the console"),
        OutcomeRule(status: [403], outcome: .forbidden,
                    reason: "DashScope: access denied (403 AccessDenied)",
                    fix: "check the key's workspace and the RAM user's permissions"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "DashScope: throttled (429 Throttling)",
                    fix: "slow down and retry"),
    ]

    // MARK: Documented answers

    private static let dashscopeErrors = "https://www.alibabacloud.com/help/en/model-studio/error-code"
    private static func dashscopeHeaders(_ id: String) -> [(String, String)] {
        [json, ("x-request-id", id), ("req-cost-time", "12")]
    }

    private static let dashscopeAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, dashscopeHeaders("8f3c2a1e-5b7d-9e4f-a1c3-2d5e7f9a0b1c"),
            #"{"object":"list","data":[{"id":"qwen-plus","object":"model","created":1726000000,"owned_by":"system"},{"id":"qwen3-max","object":"model","created":1758153600,"owned_by":"system"}]}"#,
            "OpenAI-compatible models list (shape from compatible mode)"),
        answer("invalid", .invalid, 401, dashscopeHeaders("9a4d3b2f-6c8e-0f5a-b2d4-3e6f8a0b1c2d"),
            #"{"error":{"message":"Incorrect API key provided. For details, see: https://www.alibabacloud.com/help/en/model-studio/error-code#apikey-error","type":"invalid_request_error","param":null,"code":"invalid_api_key"},"request_id":"9a4d3b2f-6c8e-0f5a-b2d4-3e6f8a0b1c2d"}"#,
            "https://github.com/Aider-AI/aider/issues/4712; " + dashscopeErrors),
        answer("arrears", .noCredit, 400, dashscopeHeaders("224c8981-4e34-9884-a89c-b1c10c9d8485"),
            #"{"error":{"message":"Access denied, please make sure your account is in good standing. For details, see: https://help.aliyun.com/zh/model-studio/error-code#overdue-payment","type":"Arrearage","param":null,"code":"Arrearage"},"id":"224c8981-4e34-9884-a89c-b1c10c9d8485","request_id":"224c8981-4e34-9884-a89c-b1c10c9d8485"}"#,
            dashscopeErrors + " (Arrearage); observed body in public code"),
        answer("accessdenied", .forbidden, 403, dashscopeHeaders("0b5e4c3a-7d9f-1a6b-c3e5-4f7a9b1c2d3e"),
            #"{"error":{"message":"Access denied.","type":"AccessDenied","param":null,"code":"AccessDenied"},"request_id":"0b5e4c3a-7d9f-1a6b-c3e5-4f7a9b1c2d3e"}"#,
            dashscopeErrors),
        answer("freetierexhausted", .noCredit, 403, dashscopeHeaders("1c6f5d4b-8e0a-2b7c-d4f6-5a8b0c2d3e4f"),
            #"{"error":{"message":"The free tier of the model has been exhausted. If you wish to continue access the model on a paid basis, please disable the \"use free tier only\" mode in the management console.","type":"AllocationQuota.FreeTierOnly","param":null,"code":"AllocationQuota.FreeTierOnly"},"request_id":"1c6f5d4b-8e0a-2b7c-d4f6-5a8b0c2d3e4f"}"#,
            dashscopeErrors + " (AllocationQuota.FreeTierOnly)"),
        answer("ratelimited", .rateLimited, 429, dashscopeHeaders("2d7a6e5c-9f1b-3c8d-e5a7-6b9c1d3e4f5a"),
            #"{"error":{"message":"Requests rate limit exceeded, please try again later.","type":"Throttling.RateQuota","param":null,"code":"Throttling.RateQuota"},"request_id":"2d7a6e5c-9f1b-3c8d-e5a7-6b9c1d3e4f5a"}"#,
            dashscopeErrors + " (Throttling.RateQuota)"),
    ]
}

extension BuiltinProvider {
    /// Mistral AI. Probe: `GET /v1/models`.
    static let mistral = BuiltinProvider(definition: mistralDefinition, rules: mistralRules, answers: mistralAnswers)

    // Key format from TruffleHog (32 letters and digits, no prefix), not
    // documented by Mistral; the range allows for a change.
    private static let mistralDefinition = ProviderDefinition(
        name: "mistral",
        displayName: "Mistral AI",
        baseURL: "https://api.mistral.ai",
        auth: .bearer,
        env: "MISTRAL_API_KEY",
        keyFormat: KeyFormat(
            pattern: #"[A-Za-z0-9]{32,48}"#,
            prefixes: [],
            description: "32 letters and digits, no prefix"
        ),
        probe: Probe(method: "GET", path: "/v1/models"),
        consoleURL: "https://console.mistral.ai/api-keys",
        sdkBasePath: "/v1"
    )

    // MARK: Rules
    // 401 bodies vary ({"message":"Unauthorized","request_id"} or {"detail":"Unauthorized"});
    // other errors {"object":"error","message","type","param","code"}.

    private static let mistralRules: [OutcomeRule] = [
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "Mistral: the key was rejected (401 Unauthorized)",
                    fix: "the key is wrong, revoked or expired: create a new one at https://console.mistral.ai/api-keys"),
        OutcomeRule(status: [402], outcome: .noCredit,
                    reason: "Mistral: payment required (402)",
                    fix: "add a payment method or credit at https://console.mistral.ai/billing"),
        // 429 "Service tier capacity exceeded for this model." (code 3505) is Mistral's capacity, not the user's rate.
        OutcomeRule(status: [429], bodyContains: ["capacity exceeded"], outcome: .providerError,
                    reason: "Mistral: the service tier is at capacity for this model (429, code 3505)",
                    fix: "retry later or use another model; this is not your rate limit"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "Mistral: requests rate limit exceeded (429)",
                    fix: "slow down; see the limits at https://console.mistral.ai/limits"),
    ]

    // MARK: Documented answers

    private static func mistralHeaders(_ id: String) -> [(String, String)] {
        [json, ("mistral-correlation-id", id), ("x-kong-request-id", String(id.prefix(24)))]
    }

    private static let mistralAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, mistralHeaders("0197a3c2-5e1b-7f4a-9d2c-6b8e0f1a3c5d"),
            #"{"object":"list","data":[{"id":"mistral-small-latest","object":"model","created":1750000000,"owned_by":"mistralai","capabilities":{"completion_chat":true,"function_calling":true,"vision":true},"name":"mistral-small-2506","max_context_length":131072,"type":"base"}]}"#,
            "https://docs.mistral.ai/api/#tag/models"),
        answer("invalid", .invalid, 401, mistralHeaders("0197a3c2-6f2c-7a5b-8e3d-7c9f1a2b4d6e"),
            #"{"message":"Unauthorized","request_id":"7c3e9a1f2b4d6e8a0c2e4f6a8b0d2f4a"}"#,
            "reference table (401 bodies vary: {\"message\":\"Unauthorized\"} / {\"detail\":\"Unauthorized\"})"),
        answer("nocredit", .noCredit, 402, mistralHeaders("0197a3c2-7a3d-7b6c-9f4e-8d0a2b3c5e7f"),
            #"{"object":"error","message":"Payment required: your workspace has no active billing or credit.","type":"payment_required","param":null,"code":"3300"}"#,
            "reference table (402); body wording and code unconfirmed"),
        answer("ratelimited", .rateLimited, 429, mistralHeaders("0197a3c2-8b4e-7c7d-8a5f-9e1b3c4d6f80") + [("retry-after", "1"), ("ratelimitbysize-limit", "500000"), ("ratelimitbysize-remaining", "0")],
            #"{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}"#,
            "https://tempfileserver.knowledge.yunwoai.com/mistral_ocr_resp_after_restart.json (observed body)"),
        answer("capacity", .providerError, 429, mistralHeaders("0197a3c2-9c5f-7d8e-9b6a-0f2c4d5e7a91"),
            #"{"object":"error","message":"Service tier capacity exceeded for this model.","type":"service_tier_capacity_exceeded","param":null,"code":"3505"}"#,
            "commonly reported Mistral 429 (code 3505)"),
    ]
}

extension BuiltinProvider {
    /// Fireworks AI. Probe: `GET /inference/v1/models`.
    static let fireworks = BuiltinProvider(definition: fireworksDefinition, rules: fireworksRules, answers: fireworksAnswers)

    // Key format observed (fw_ and about 24 letters and digits), not
    // documented; keys without the fw_ prefix are not ruled out.
    private static let fireworksDefinition = ProviderDefinition(
        name: "fireworks",
        displayName: "Fireworks AI",
        baseURL: "https://api.fireworks.ai/inference",
        auth: .bearer,
        env: "FIREWORKS_API_KEY",
        alternateEnv: ["FIREWORKS_AI_API_KEY"],
        keyFormat: KeyFormat(
            pattern: #"fw_[A-Za-z0-9_-]{16,}"#,
            prefixes: ["fw_"],
            description: "fw_ followed by letters and digits (about 24)"
        ),
        probe: Probe(method: "GET", path: "/v1/models"),
        consoleURL: "https://fireworks.ai/account/api-keys",
        sdkBasePath: "/inference/v1"
    )

    // MARK: Rules
    // Body: {"error":{"object":"error","type","code","message"}}.

    private static let fireworksRules: [OutcomeRule] = [
        // 412 PRECONDITION_FAILED: "Account … is suspended, possibly due to reaching the monthly spending limit or
        // failure to pay past invoices."
        OutcomeRule(status: [412], bodyContains: ["suspended"], outcome: .noCredit,
                    reason: "Fireworks: account suspended, spending limit reached or unpaid invoices (412)",
                    fix: "check https://fireworks.ai/account/billing: pay invoices or raise the spending limit"),
        OutcomeRule(status: [402], outcome: .noCredit,
                    reason: "Fireworks: payment required (402)",
                    fix: "add credits or a payment method at https://fireworks.ai/account/billing"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "Fireworks: invalid API key (401)",
                    fix: "create a new key at https://fireworks.ai/account/api-keys"),
    ]

    // MARK: Documented answers

    private static let fireworksAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, [json],
            #"{"object":"list","data":[{"id":"accounts/fireworks/models/llama-v3p3-70b-instruct","object":"model","owned_by":"fireworks","created":1733443200,"kind":"HF_BASE_MODEL","supports_chat":true,"supports_image_input":false,"supports_tools":true,"context_length":131072}]}"#,
            "https://docs.fireworks.ai/api-reference/list-models (OpenAI-compatible)"),
        answer("invalid", .invalid, 401, [json],
            #"{"error":{"object":"error","type":"invalid_request_error","message":"The API key you provided is invalid."}}"#,
            "reference table (401; wording unconfirmed)"),
        answer("nocredit", .noCredit, 402, [json],
            #"{"error":{"object":"error","type":"invalid_request_error","code":"PAYMENT_REQUIRED","message":"Account has insufficient credits. Please add credits at https://fireworks.ai/account/billing."}}"#,
            "reference table (402; wording unconfirmed)"),
        answer("suspended", .noCredit, 412, [json, ("x-request-id", "11650e2f-ff1b-4aac-9719-98006adf7349")],
            #"{"error":{"message":"Account my-account is suspended, possibly due to reaching the monthly spending limit or failure to pay past invoices. Please go to https://fireworks.ai/account/billing for more information.","param":null,"code":"PRECONDITION_FAILED","type":"error"},"request_id":"11650e2f-ff1b-4aac-9719-98006adf7349"}"#,
            "https://github.com/pollinations/pollinations/issues/12136"),
        answer("ratelimited", .rateLimited, 429, [json, ("retry-after", "1"), ("x-ratelimit-limit-requests", "600"), ("x-ratelimit-remaining-requests", "0")],
            #"{"error":{"object":"error","type":"invalid_request_error","code":"RATE_LIMIT_EXCEEDED","message":"Request rate limit exceeded, please try again later."}}"#,
            "https://docs.fireworks.ai/guides/quotas_usage/rate-limits (wording unconfirmed)"),
    ]
}

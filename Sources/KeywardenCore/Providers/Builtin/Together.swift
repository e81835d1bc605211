extension BuiltinProvider {
    /// Together AI. Probe: `GET /v1/models`.
    static let together = BuiltinProvider(definition: togetherDefinition, rules: togetherRules, answers: togetherAnswers)

    // Key format observed, not documented: current keys are tgp_v1_ and
    // about 43 URL-safe characters; older keys are 64 hexadecimal characters.
    private static let togetherDefinition = ProviderDefinition(
        name: "together",
        displayName: "Together AI",
        baseURL: "https://api.together.xyz",
        auth: .bearer,
        env: "TOGETHER_API_KEY",
        alternateEnv: ["TOGETHER_AI_API_KEY"],
        keyFormat: KeyFormat(
            pattern: #"(?:tgp_v1_[A-Za-z0-9_-]{20,80}|[0-9A-Fa-f]{64})"#,
            prefixes: ["tgp_v1_"],
            description: "tgp_v1_ followed by about 43 characters, or (older keys) 64 hexadecimal characters"
        ),
        probe: Probe(method: "GET", path: "/v1/models"),
        consoleURL: "https://api.together.xyz/settings/api-keys",
        sdkBaseURLEnv: "TOGETHER_BASE_URL",
        sdkBasePath: "/v1"
    )

    // MARK: Rules
    // Body: {"error":{"message","type","param","code"}}. https://docs.together.ai/docs/error-codes

    private static let togetherRules: [OutcomeRule] = [
        OutcomeRule(status: [402], outcome: .noCredit,
                    reason: "Together: the account reached its spending limit or has no credit (402)",
                    fix: "add credits or adjust billing at https://api.together.xyz/settings/billing"),
        // Trap: Together's plain rate limit says type "credit_limit" ("You have been rate limited. Your rate limit is
        // 60 queries per minute…"); a 429 is a rate limit whatever the type says.
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "Together: rate limited (429)",
                    fix: "slow down; buying credits raises the rate tier (https://api.together.xyz/settings/billing)"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "Together: invalid API key (401)",
                    fix: "create a new key at https://api.together.xyz/settings/api-keys"),
        // Together's error table: "400 … ensure your API key is correct".
        OutcomeRule(status: [400], bodyContains: ["invalid api key"], outcome: .invalid,
                    reason: "Together: invalid API key (400)",
                    fix: "create a new key at https://api.together.xyz/settings/api-keys"),
        OutcomeRule(status: [503], outcome: .providerError,
                    reason: "Together: engine overloaded (503)",
                    fix: "retry after a brief wait"),
    ]

    // MARK: Documented answers

    private static let togetherErrors = "https://docs.together.ai/docs/error-codes"

    private static let togetherAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, [json, ("x-request-id", "oXk2P9a-4Yz3Jq-97d2f1c8e6b4a3d5")],
            #"[{"id":"meta-llama/Llama-3.3-70B-Instruct-Turbo","object":"model","created":1733443200,"type":"chat","running":false,"display_name":"Meta Llama 3.3 70B Instruct Turbo","organization":"Meta","link":"https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct","context_length":131072,"config":{"chat_template":null,"stop":["<|eot_id|>"],"bos_token":null,"eos_token":null},"pricing":{"hourly":0,"input":0.88,"output":0.88,"base":0,"finetune":0}}]"#,
            "https://docs.together.ai/reference/models-1 (a bare array)"),
        answer("invalid", .invalid, 401, [json],
            #"{"error":{"message":"Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
            togetherErrors),
        answer("nocredit", .noCredit, 402, [json],
            #"{"error":{"message":"Credit limit exceeded. Please navigate to https://api.together.xyz/settings/billing to add credits or adjust your limit.","type":"credit_limit","param":null,"code":null}}"#,
            togetherErrors + " (402; wording unconfirmed)"),
        answer("ratelimited", .rateLimited, 429, [json, ("retry-after", "1"), ("x-ratelimit-limit", "60"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")],
            #"{"error":{"message":"You have been rate limited. Your rate limit is 60 queries per minute. Please navigate to https://api.together.xyz/settings/billing to upgrade to a paid plan.","type":"credit_limit","param":null,"code":null}}"#,
            "https://github.com/togethercomputer/MoA/issues/27 (type credit_limit on a rate limit)"),
        answer("overloaded", .providerError, 503, [json],
            #"{"error":{"message":"The server is overloaded or not ready yet.","type":"server_error","param":null,"code":null}}"#,
            togetherErrors),
    ]
}

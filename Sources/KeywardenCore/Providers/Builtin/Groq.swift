extension BuiltinProvider {
    /// Groq. Probe: `GET /openai/v1/models`.
    static let groq = BuiltinProvider(definition: groqDefinition, rules: groqRules, answers: groqAnswers)

    private static let groqDefinition = ProviderDefinition(
        name: "groq",
        displayName: "Groq",
        baseURL: "https://api.groq.com/openai",
        auth: .bearer,
        env: "GROQ_API_KEY",
        keyFormat: KeyFormat(
            pattern: #"gsk_[A-Za-z0-9]{40,64}"#,
            prefixes: ["gsk_"],
            description: "gsk_ followed by 52 letters and digits"
        ),
        probe: Probe(method: "GET", path: "/v1/models"),
        consoleURL: "https://console.groq.com/keys",
        sdkBaseURLEnv: "GROQ_BASE_URL"
    )

    // MARK: Rules
    // Body: {"error":{"message","type","code"}}. https://console.groq.com/docs/errors

    private static let groqRules: [OutcomeRule] = [
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "Groq: invalid API key (401 invalid_api_key)",
                    fix: "create a new key at https://console.groq.com/keys"),
        // Status unconfirmed (400 or 403 observed); the code is what matters.
        OutcomeRule(json: [JSONMatch("error.code", equals: "organization_restricted")], outcome: .forbidden,
                    reason: "Groq: the organization is restricted (organization_restricted)",
                    fix: "contact Groq support; a new key in the same organization will not help"),
        // Free-tier daily limits (RPD/TPD) only reset the next day.
        OutcomeRule(status: [429], bodyContains: ["per day"], outcome: .noCredit,
                    reason: "Groq: the daily request or token limit is used up (429, per day)",
                    fix: "wait for the daily reset or upgrade at https://console.groq.com/settings/billing"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "Groq: rate limited (429 rate_limit_exceeded)",
                    fix: "wait for `retry-after`; limits at https://console.groq.com/settings/limits"),
        OutcomeRule(status: [498], outcome: .providerError,
                    reason: "Groq: flex tier at capacity (498 capacity_exceeded)",
                    fix: "retry with backoff, or use the on-demand service tier"),
    ]

    // MARK: Documented answers

    private static let groqErrors = "https://console.groq.com/docs/errors"
    private static func groqHeaders(_ id: String) -> [(String, String)] {
        [json, ("x-request-id", id), ("x-groq-region", "us-east-1")]
    }

    private static let groqAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, groqHeaders("req_01jx8q3m2nf5r9t7v6w4y2z0a1"),
            #"{"object":"list","data":[{"id":"llama-3.3-70b-versatile","object":"model","created":1733447754,"owned_by":"Meta","active":true,"context_window":131072,"public_apps":null,"max_completion_tokens":32768},{"id":"llama-3.1-8b-instant","object":"model","created":1693721698,"owned_by":"Meta","active":true,"context_window":131072,"public_apps":null,"max_completion_tokens":131072}]}"#,
            "https://console.groq.com/docs/api-reference#models-list"),
        answer("invalid", .invalid, 401, groqHeaders("req_01jx8q4n3pg6s0v8w7x5z3a1b2"),
            #"{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}"#,
            groqErrors),
        answer("ratelimited", .rateLimited, 429,
            groqHeaders("req_01jx8q5p4qh7t1w9x8y6a4b2c3") + [
              ("retry-after", "1"),
              ("x-ratelimit-limit-requests", "1000"),
              ("x-ratelimit-limit-tokens", "12000"),
              ("x-ratelimit-remaining-requests", "998"),
              ("x-ratelimit-remaining-tokens", "0"),
              ("x-ratelimit-reset-requests", "2m52.8s"),
              ("x-ratelimit-reset-tokens", "1s"),
            ],
            #"{"error":{"message":"Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01hx2k3m4n5p6q7r8s9t0v1w2x` service tier `on_demand` on tokens per minute (TPM): Limit 12000, Used 11800, Requested 512. Please try again in 1s. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing","type":"tokens","code":"rate_limit_exceeded"}}"#,
            "https://console.groq.com/docs/rate-limits"),
        answer("dailylimit", .noCredit, 429,
            groqHeaders("req_01jx8q6q5ri8v2x0y9z7b5c3d4") + [("retry-after", "2520"), ("x-ratelimit-limit-requests", "1000"), ("x-ratelimit-remaining-requests", "0")],
            #"{"error":{"message":"Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01hx2k3m4n5p6q7r8s9t0v1w2x` service tier `on_demand` on requests per day (RPD): Limit 1000, Used 1000, Requested 1. Please try again in 42m0s. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing","type":"requests","code":"rate_limit_exceeded"}}"#,
            "https://console.groq.com/docs/rate-limits (RPD)"),
        answer("capacity", .providerError, 498, groqHeaders("req_01jx8q7r6sj9w3y1z0a8c6d4e5"),
            #"{"error":{"message":"Flex tier capacity exceeded. This is a known issue and we are working on it. Please try again later.","type":"internal_server_error","code":"capacity_exceeded"}}"#,
            "https://console.groq.com/docs/flex-processing (498 capacity_exceeded; message wording made up)"),
        answer("restricted", .forbidden, 400, groqHeaders("req_01jx8q8s7tk0x4z2a1b9d7e5f6"),
            #"{"error":{"message":"Organization has been restricted. Please reach out to support if you believe this was in error.","type":"invalid_request_error","code":"organization_restricted"}}"#,
            "commonly reported Groq error (status unconfirmed)"),
        answer("overloaded", .providerError, 503, groqHeaders("req_01jx8q9t8ul1y5a3b2c0e8f6g7"),
            #"{"error":{"message":"Service Unavailable","type":"internal_server_error"}}"#,
            groqErrors),
    ]
}

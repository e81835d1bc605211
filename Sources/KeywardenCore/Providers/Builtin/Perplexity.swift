extension BuiltinProvider {
    /// Perplexity. Probe: `GET /v1/models`.
    static let perplexity = BuiltinProvider(definition: perplexityDefinition, rules: perplexityRules, answers: perplexityAnswers)

    // Probe uncertain: GET /v1/models is recent (2026) and may not reject a
    // bad key; Perplexity has no documented key-check endpoint.
    private static let perplexityDefinition = ProviderDefinition(
        name: "perplexity",
        displayName: "Perplexity",
        baseURL: "https://api.perplexity.ai",
        auth: .bearer,
        env: "PERPLEXITY_API_KEY",
        alternateEnv: ["PPLX_API_KEY"],
        keyFormat: KeyFormat(
            pattern: #"pplx-[A-Za-z0-9]{32,64}"#,
            prefixes: ["pplx-"],
            description: "pplx- followed by 48 letters and digits"
        ),
        probe: Probe(method: "GET", path: "/v1/models"),
        consoleURL: "https://www.perplexity.ai/settings/api"
    )

    // MARK: Rules
    // Perplexity's FAQ: a 401 means an invalid or deleted key, or an account out of API credits.

    private static let perplexityRules: [OutcomeRule] = [
        // Credit wording of the 401 not confirmed; matched loosely.
        OutcomeRule(status: [401], bodyContains: ["credit"], outcome: .noCredit,
                    reason: "Perplexity: out of API credits (401)",
                    fix: "buy API credits at https://www.perplexity.ai/settings/api"),
        OutcomeRule(status: [401], bodyContains: ["quota"], outcome: .noCredit,
                    reason: "Perplexity: API quota exhausted (401)",
                    fix: "buy API credits at https://www.perplexity.ai/settings/api"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "Perplexity: the key was rejected (401)",
                    fix: "check the key at https://www.perplexity.ai/settings/api (Perplexity also answers 401 when the credit balance is empty)"),
    ]

    // MARK: Documented answers

    private static let perplexityAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, [json],
            #"{"object":"list","data":[{"id":"sonar","object":"model","created":1738368000,"owned_by":"perplexity"},{"id":"sonar-pro","object":"model","created":1738368000,"owned_by":"perplexity"}]}"#,
            "probe unconfirmed (OpenAI-compatible list shape)"),
        // Perplexity sits behind openresty: a bad key gets an HTML page, not JSON.
        answer("invalid", .invalid, 401, [("content-type", "text/html"), ("server", "cloudflare")],
            "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>openresty/1.27.1.1</center>\r\n</body>\r\n</html>\r\n",
            "commonly reported Perplexity 401 (openresty HTML)"),
        answer("nocredit", .noCredit, 401, [json],
            #"{"error":{"message":"You have run out of API credits. Please add credits at https://www.perplexity.ai/settings/api to continue.","type":"insufficient_quota","code":401}}"#,
            "Perplexity FAQ: 401 also means out of credits (body shape unconfirmed)"),
        answer("ratelimited", .rateLimited, 429, [json, ("retry-after", "1")],
            #"{"error":{"message":"Rate limit exceeded","type":"rate_limit_error","code":429}}"#,
            "https://docs.perplexity.ai/guides/rate-limits (wording unconfirmed)"),
    ]
}

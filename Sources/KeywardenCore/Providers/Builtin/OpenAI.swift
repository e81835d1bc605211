extension BuiltinProvider {
    /// OpenAI. Probe: `GET /v1/models`.
    static let openai = BuiltinProvider(definition: openaiDefinition, rules: openaiRules, answers: openaiAnswers)

    private static let openaiDefinition = ProviderDefinition(
        name: "openai",
        displayName: "OpenAI",
        baseURL: "https://api.openai.com",
        auth: .bearer,
        env: "OPENAI_API_KEY",
        keyFormat: KeyFormat(
            pattern: #"sk-[A-Za-z0-9_-]{20,}"#,
            prefixes: ["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"],
            description: "sk-proj-… (project), sk-svcacct-… (service account), sk-admin-… (admin) or legacy sk-…; usually contains T3BlbkFJ"
        ),
        probe: Probe(method: "GET", path: "/v1/models"),
        consoleURL: "https://platform.openai.com/api-keys",
        sdkBaseURLEnv: "OPENAI_BASE_URL",
        sdkBasePath: "/v1"
    )

    // MARK: Rules
    // Body: {"error":{"message","type","param","code"}}. https://platform.openai.com/docs/guides/error-codes

    private static let openaiRules: [OutcomeRule] = [
        // Restricted keys and OAuth tokens without a scope: 401 "You have insufficient permissions for this operation.
        // Missing scopes: api.model.read. …" (code null; some gateways send "error" as a plain string).
        OutcomeRule(status: [401], bodyContains: ["missing scopes"], outcome: .forbidden,
                    reason: "OpenAI: the key lacks a permission scope (401 \"Missing scopes\")",
                    fix: "give the restricted key \"Read\" on Models (and the scopes your app needs) at https://platform.openai.com/api-keys, or check your role in the project"),
        OutcomeRule(status: [401], json: [JSONMatch("error.code", equals: "mismatched_organization")], outcome: .forbidden,
                    reason: "OpenAI: the OpenAI-Organization header does not match the key's organization (401 mismatched_organization)",
                    fix: "remove the OpenAI-Organization header or set it to the key's organization"),
        OutcomeRule(status: [401], bodyContains: ["must be a member of an organization"], outcome: .forbidden,
                    reason: "OpenAI: the account belongs to no organization (401)",
                    fix: "ask an organization owner to invite the account, then create a key in that organization"),
        // Documented as "401 - IP not authorized"; the body wording is not confirmed.
        OutcomeRule(status: [401], bodyContains: ["ip not authorized"], outcome: .forbidden,
                    reason: "OpenAI: this IP address is not on the project's allowlist (401)",
                    fix: "send the request from an allowed IP, or update the project's IP allowlist"),
        OutcomeRule(status: [401], json: [JSONMatch("error.code", equals: "invalid_api_key")], outcome: .invalid,
                    reason: "OpenAI: incorrect API key (401 invalid_api_key)",
                    fix: "the key is wrong or was deleted: create a new one at https://platform.openai.com/api-keys"),
        OutcomeRule(status: [403], json: [JSONMatch("error.code", equals: "unsupported_country_region_territory")], outcome: .forbidden,
                    reason: "OpenAI: requests from this country, region or territory are refused (403 unsupported_country_region_territory)",
                    fix: "call the API from a supported country (https://platform.openai.com/docs/supported-countries); the key itself may be fine"),
        // Out of credit or over the monthly budget: 429 with type and code insufficient_quota (older bodies: code null).
        OutcomeRule(status: [429], bodyContains: ["insufficient_quota"], outcome: .noCredit,
                    reason: "OpenAI: quota exhausted, no credit left or monthly budget reached (429 insufficient_quota)",
                    fix: "add credit or raise the budget at https://platform.openai.com/settings/organization/billing/overview"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "OpenAI: rate limited (429 rate_limit_exceeded)",
                    fix: "wait for `retry-after-ms`/`retry-after`; the `x-ratelimit-*` headers say which limit ran out"),
    ]

    // MARK: Documented answers

    private static let openaiErrors = "https://platform.openai.com/docs/guides/error-codes"
    private static func openaiHeaders(_ id: String) -> [(String, String)] {
        [json, ("x-request-id", id), ("openai-processing-ms", "38"), ("openai-version", "2020-10-01")]
    }

    private static let openaiAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, openaiHeaders("req_5b3f0c2d8e1a4f6b9c7d2e0a1b3c5d7e"),
            #"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"},{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},{"id":"text-embedding-3-small","object":"model","created":1705948997,"owned_by":"system"}]}"#,
            "https://platform.openai.com/docs/api-reference/models/list"),
        answer("invalid", .invalid, 401, openaiHeaders("req_8a1d2c3b4e5f60718293a4b5c6d7e8f9"),
            #"{"error":{"message":"Incorrect API key provided: sk-proj-********************************************************************************************************************************************************Xq2A. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
            openaiErrors),
        answer("missingscope", .forbidden, 401, openaiHeaders("req_1f2e3d4c5b6a79880796a5b4c3d2e1f0"),
            #"{"error":{"message":"You have insufficient permissions for this operation. Missing scopes: api.model.read. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a restricted API key, that it has the necessary scopes.","type":"invalid_request_error","param":null,"code":null}}"#,
            "https://github.com/continuedev/continue/issues/10059"),
        answer("wrongorg", .forbidden, 401, openaiHeaders("req_0a9b8c7d6e5f40312a3b4c5d6e7f8091"),
            #"{"error":{"message":"OpenAI-Organization header should match organization for API key","type":"invalid_request_error","param":null,"code":"mismatched_organization"}}"#,
            openaiErrors + " (code from community reports)"),
        answer("quotaexhausted", .noCredit, 429, openaiHeaders("req_9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49"),
            #"{"error":{"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
            "https://github.com/simonw/llm/issues/494"),
        answer("ratelimited", .rateLimited, 429,
            openaiHeaders("req_2b4d6f8a0c1e3a5c7e9b1d3f5a7c9e1b") + [
              ("retry-after", "1"),
              ("x-ratelimit-limit-requests", "500"),
              ("x-ratelimit-remaining-requests", "0"),
              ("x-ratelimit-reset-requests", "120ms"),
              ("x-ratelimit-limit-tokens", "30000"),
              ("x-ratelimit-remaining-tokens", "29450"),
              ("x-ratelimit-reset-tokens", "1.1s"),
            ],
            #"{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-Xk3mP9qLr2Tn8VwZ on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
            "https://platform.openai.com/docs/guides/rate-limits"),
        answer("ratelimitedms", .rateLimited, 429,
            openaiHeaders("req_3c5e7a9b1d2f4a6c8e0b2d4f6a8c0e2d") + [
              ("retry-after-ms", "200"),
              ("x-ratelimit-limit-tokens", "30000"),
              ("x-ratelimit-remaining-tokens", "0"),
              ("x-ratelimit-reset-tokens", "200ms"),
            ],
            #"{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-Xk3mP9qLr2Tn8VwZ on tokens per min (TPM): Limit 30000, Used 30000, Requested 512. Please try again in 200ms. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
            "openai-python _base_client.py (retry-after-ms); rate-limit guide"),
        answer("unsupportedregion", .forbidden, 403, openaiHeaders("req_4d6f8b0a2c3e5b7d9f1a3c5e7b9d1f3a"),
            #"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}"#,
            openaiErrors),
        answer("overloaded", .providerError, 503, openaiHeaders("req_5e7a9c1b3d4f6c8e0a2b4d6f8c0e2a4b"),
            #"{"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":null}}"#,
            openaiErrors),
    ]
}

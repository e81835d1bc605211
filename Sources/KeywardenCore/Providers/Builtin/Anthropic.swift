extension BuiltinProvider {
    /// Anthropic (Claude). Probe: `GET /v1/models`.
    static let anthropic = BuiltinProvider(definition: anthropicDefinition, rules: anthropicRules, answers: anthropicAnswers)

    private static let anthropicDefinition = ProviderDefinition(
        name: "anthropic",
        displayName: "Anthropic",
        baseURL: "https://api.anthropic.com",
        auth: .header("x-api-key"),
        headers: ["anthropic-version": "2023-06-01"],
        env: "ANTHROPIC_API_KEY",
        alternateEnv: ["CLAUDE_API_KEY"],
        keyFormat: KeyFormat(
            pattern: #"sk-ant-[A-Za-z0-9_-]{24,}"#,
            prefixes: ["sk-ant-api03-", "sk-ant-admin01-", "sk-ant-"],
            description: "sk-ant-api03-… (about 108 characters in all, ending in AA); admin keys sk-ant-admin01-…"
        ),
        probe: Probe(method: "GET", path: "/v1/models"),
        consoleURL: "https://console.anthropic.com/settings/keys",
        sdkBaseURLEnv: "ANTHROPIC_BASE_URL"
    )

    // MARK: Rules
    // Body: {"type":"error","error":{"type","message"},"request_id"}.
    // https://platform.claude.com/docs/en/api/errors

    private static let anthropicRules: [OutcomeRule] = [
        OutcomeRule(status: [400], bodyContains: ["credit balance is too low"], outcome: .noCredit,
                    reason: "Anthropic: credit balance too low (400 invalid_request_error)",
                    fix: "buy credits at https://console.anthropic.com/settings/billing"),
        // A spend limit the user set: "You have reached your specified (workspace) API usage limits. You will regain access on …".
        OutcomeRule(status: [400], bodyContains: ["api usage limits"], outcome: .noCredit,
                    reason: "Anthropic: the organization's or workspace's spend limit is reached (400 invalid_request_error)",
                    fix: "raise or remove the spend limit at https://console.anthropic.com/settings/limits, or wait for the date the message gives"),
        OutcomeRule(status: [402], outcome: .noCredit,
                    reason: "Anthropic: billing problem (402 billing_error)",
                    fix: "check the payment details at https://console.anthropic.com/settings/billing"),
        // The tier's monthly spend cap answers 429 rate_limit_error without retry-after; only the body tells it from a rate limit.
        OutcomeRule(status: [429], json: [JSONMatch("error.details.error_code", equals: "enforced_spend_limit_reached")], outcome: .noCredit,
                    reason: "Anthropic: the usage tier's monthly spend cap is reached (429 enforced_spend_limit_reached)",
                    fix: "move to a higher usage tier at https://console.anthropic.com/settings/limits, or wait for the 1st of next month (00:00 UTC)"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "Anthropic: rate limited (429 rate_limit_error)",
                    fix: "wait for `retry-after`; the `anthropic-ratelimit-*` headers say which limit ran out"),
        OutcomeRule(status: [529], outcome: .providerError,
                    reason: "Anthropic: API overloaded for all users (529 overloaded_error)",
                    fix: "retry in a few seconds; check https://status.anthropic.com"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "Anthropic: the key was rejected (401 authentication_error)",
                    fix: "the key is wrong, revoked or expired: create a new one at https://console.anthropic.com/settings/keys"),
        OutcomeRule(status: [403], outcome: .forbidden,
                    reason: "Anthropic: the key may not use this resource (403 permission_error)",
                    fix: "check the organization's access and the key's workspace at https://console.anthropic.com/settings/keys"),
        // TruffleHog is said to treat 404 as a disabled key; Anthropic's docs say 404 not_found_error means a wrong
        // path, and a disabled key gets 401. A 404 on /v1/models therefore points at the base URL, not the key.
        OutcomeRule(status: [404], json: [JSONMatch("error.type", equals: "not_found_error")], outcome: .unexpected,
                    reason: "Anthropic: the probe path was not found (404 not_found_error), so the key was not judged",
                    fix: "check the base URL (`keywarden provider show anthropic`): it should be https://api.anthropic.com"),
    ]

    // MARK: Documented answers

    private static let anthropicErrors = "https://platform.claude.com/docs/en/api/errors"
    private static func anthropicHeaders(_ id: String) -> [(String, String)] {
        [json, ("request-id", id), ("anthropic-organization-id", "4f1c2a9e-7b3d-4e8a-9c51-2d6f0b8e3a17")]
    }

    private static let anthropicAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, anthropicHeaders("req_011CSHoEeqs5C35K2UUqR7Fy"),
            #"{"data":[{"type":"model","id":"claude-sonnet-4-5-20250929","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"},{"type":"model","id":"claude-haiku-4-5-20251001","display_name":"Claude Haiku 4.5","created_at":"2025-10-15T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5-20250929","last_id":"claude-haiku-4-5-20251001"}"#,
            "https://docs.anthropic.com/en/api/models-list"),
        answer("invalid", .invalid, 401, [json, ("request-id", "req_011CSHp2kQz8YwV3nJrT5aLm"), ("x-should-retry", "false")],
            #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_011CSHp2kQz8YwV3nJrT5aLm"}"#,
            anthropicErrors),
        answer("nocredit", .noCredit, 400, anthropicHeaders("req_011CSHq7vB3mXc9Dk2PzR4Ns"),
            #"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."},"request_id":"req_011CSHq7vB3mXc9Dk2PzR4Ns"}"#,
            "https://github.com/Aider-AI/aider/issues/804 (message); reference table"),
        answer("billing", .noCredit, 402, anthropicHeaders("req_011CSHr1Wd6nLq8Fj3XyT9Bc"),
            #"{"type":"error","error":{"type":"billing_error","message":"There is an issue with your billing or payment information. Please check your payment details in the Claude Console."},"request_id":"req_011CSHr1Wd6nLq8Fj3XyT9Bc"}"#,
            anthropicErrors + " (402 billing_error; message wording made up)"),
        answer("spendlimit", .noCredit, 400, anthropicHeaders("req_011CSHs4Hk2pRt7Gm5VwQ1Ze"),
            #"{"type":"error","error":{"type":"invalid_request_error","message":"You have reached your specified workspace API usage limits. You will regain access on 2025-06-01 at 00:00 UTC."},"request_id":"req_011CSHs4Hk2pRt7Gm5VwQ1Ze"}"#,
            "https://github.com/anthropics/claude-code/issues/1047"),
        answer("spendcap", .noCredit, 429, anthropicHeaders("req_011CSHt8Ny5sVb1Kq6XcU2Df"),
            #"{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your usage tier's monthly spend limit. Access resumes on 2025-07-01 at 00:00 UTC, or move to a higher tier.","details":{"error_code":"enforced_spend_limit_reached"}},"request_id":"req_011CSHt8Ny5sVb1Kq6XcU2Df"}"#,
            "https://learn.microsoft.com/microsoft-cloud/dev/dev-proxy/concepts/anthropic-529-overloaded-error (error.details.error_code; message wording made up)"),
        answer("ratelimited", .rateLimited, 429,
            anthropicHeaders("req_011CSHu3Qa9wXe4Mr8YdV5Gh") + [
              ("retry-after", "1"),
              ("anthropic-ratelimit-requests-limit", "50"),
              ("anthropic-ratelimit-requests-remaining", "0"),
              ("anthropic-ratelimit-requests-reset", "2025-06-12T10:15:31Z"),
              ("anthropic-ratelimit-tokens-limit", "40000"),
              ("anthropic-ratelimit-tokens-remaining", "39500"),
              ("anthropic-ratelimit-tokens-reset", "2025-06-12T10:15:31Z"),
              ("anthropic-ratelimit-input-tokens-limit", "30000"),
              ("anthropic-ratelimit-input-tokens-remaining", "29800"),
              ("anthropic-ratelimit-input-tokens-reset", "2025-06-12T10:15:31Z"),
              ("anthropic-ratelimit-output-tokens-limit", "8000"),
              ("anthropic-ratelimit-output-tokens-remaining", "7700"),
              ("anthropic-ratelimit-output-tokens-reset", "2025-06-12T10:15:31Z"),
            ],
            #"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization (4f1c2a9e-7b3d-4e8a-9c51-2d6f0b8e3a17) of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits."},"request_id":"req_011CSHu3Qa9wXe4Mr8YdV5Gh"}"#,
            "https://docs.anthropic.com/en/api/rate-limits"),
        answer("overloaded", .providerError, 529, [json, ("request-id", "req_011CSHv6Tc1yZf7Ps2AeW8Jk")],
            #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHv6Tc1yZf7Ps2AeW8Jk"}"#,
            anthropicErrors),
        answer("forbidden", .forbidden, 403, anthropicHeaders("req_011CSHw9Xe4aBg2Rt5CfY1Lm"),
            #"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."},"request_id":"req_011CSHw9Xe4aBg2Rt5CfY1Lm"}"#,
            anthropicErrors),
        answer("notfound", .unexpected, 404, anthropicHeaders("req_011CSHx2Zg7cDh5Uv8DgZ4Np"),
            #"{"type":"error","error":{"type":"not_found_error","message":"Not found"},"request_id":"req_011CSHx2Zg7cDh5Uv8DgZ4Np"}"#,
            anthropicErrors + " (404 = wrong path; TruffleHog's \"404 = disabled\" not confirmed)"),
    ]
}

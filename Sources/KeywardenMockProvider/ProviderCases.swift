/// One documented answer of a provider, replayed by the mock provider server:
/// the status, headers and body the provider really sends to its probe in one
/// situation (a good key, a bad key, an empty account, a rate limit, one of its
/// traps), and the outcome `BuiltinRules` must give it. Tests pair each case
/// with `OutcomeClassifier.classify(status:body:rules:)` so a rule change that
/// misreads a real answer fails at once.
public struct ProviderCase: Sendable {
    /// Built-in provider name (`BuiltinProviders`).
    public var provider: String
    /// Lower-case letters only, unique per provider: "valid", "invalid", "nocredit", "ratelimited", …
    public var scenario: String
    public var response: MockResponse
    /// The `ValidationOutcome` raw value the rules must produce.
    public var expected: String
    /// Where the body shape comes from (doc URL, issue, SDK file) or "reference table".
    public var source: String

    public init(provider: String, scenario: String, response: MockResponse, expected: String, source: String) {
        self.provider = provider
        self.scenario = scenario
        self.response = response
        self.expected = expected
        self.source = source
    }
}

/// Every built-in provider's documented answers. Request ids, organization ids
/// and timestamps are made up but shaped like the real ones; retry delays are
/// small ("1" second, 200 ms) so tests that honour them stay fast.
public enum ProviderCases {
    public static let all: [ProviderCase] =
        anthropic + openai + azureOpenAI + gemini + mistral + groq + deepseek + zhipu + zai
        + moonshot + dashscope + openrouter + cohere + together + xai + fireworks + perplexity + huggingface

    /// The answer of `provider` in `scenario`, if there is such a case.
    public static func response(provider: String, scenario: String) -> MockResponse? {
        all.first { $0.provider == provider && $0.scenario == scenario }?.response
    }

    private static let json = ("content-type", "application/json")

    private static func c(_ provider: String, _ scenario: String, _ expected: String, _ status: Int,
                          _ headers: [(String, String)], _ body: String, _ source: String) -> ProviderCase {
        ProviderCase(provider: provider, scenario: scenario,
                     response: MockResponse(status: status, headers: headers, body: body),
                     expected: expected, source: source)
    }

    // MARK: - Anthropic (GET /v1/models)

    private static let anthropicErrors = "https://platform.claude.com/docs/en/api/errors"
    private static func anthropicHeaders(_ id: String) -> [(String, String)] {
        [json, ("request-id", id), ("anthropic-organization-id", "4f1c2a9e-7b3d-4e8a-9c51-2d6f0b8e3a17")]
    }

    static let anthropic: [ProviderCase] = [
        c("anthropic", "valid", "valid", 200, anthropicHeaders("req_011CSHoEeqs5C35K2UUqR7Fy"),
          #"{"data":[{"type":"model","id":"claude-sonnet-4-5-20250929","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"},{"type":"model","id":"claude-haiku-4-5-20251001","display_name":"Claude Haiku 4.5","created_at":"2025-10-15T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5-20250929","last_id":"claude-haiku-4-5-20251001"}"#,
          "https://docs.anthropic.com/en/api/models-list"),
        c("anthropic", "invalid", "invalid", 401, [json, ("request-id", "req_011CSHp2kQz8YwV3nJrT5aLm"), ("x-should-retry", "false")],
          #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_011CSHp2kQz8YwV3nJrT5aLm"}"#,
          anthropicErrors),
        c("anthropic", "nocredit", "no_credit", 400, anthropicHeaders("req_011CSHq7vB3mXc9Dk2PzR4Ns"),
          #"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."},"request_id":"req_011CSHq7vB3mXc9Dk2PzR4Ns"}"#,
          "https://github.com/Aider-AI/aider/issues/804 (message); reference table"),
        c("anthropic", "billing", "no_credit", 402, anthropicHeaders("req_011CSHr1Wd6nLq8Fj3XyT9Bc"),
          #"{"type":"error","error":{"type":"billing_error","message":"There is an issue with your billing or payment information. Please check your payment details in the Claude Console."},"request_id":"req_011CSHr1Wd6nLq8Fj3XyT9Bc"}"#,
          anthropicErrors + " (402 billing_error; message wording made up)"),
        c("anthropic", "spendlimit", "no_credit", 400, anthropicHeaders("req_011CSHs4Hk2pRt7Gm5VwQ1Ze"),
          #"{"type":"error","error":{"type":"invalid_request_error","message":"You have reached your specified workspace API usage limits. You will regain access on 2025-06-01 at 00:00 UTC."},"request_id":"req_011CSHs4Hk2pRt7Gm5VwQ1Ze"}"#,
          "https://github.com/anthropics/claude-code/issues/1047"),
        c("anthropic", "spendcap", "no_credit", 429, anthropicHeaders("req_011CSHt8Ny5sVb1Kq6XcU2Df"),
          #"{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your usage tier's monthly spend limit. Access resumes on 2025-07-01 at 00:00 UTC, or move to a higher tier.","details":{"error_code":"enforced_spend_limit_reached"}},"request_id":"req_011CSHt8Ny5sVb1Kq6XcU2Df"}"#,
          "https://learn.microsoft.com/microsoft-cloud/dev/dev-proxy/concepts/anthropic-529-overloaded-error (error.details.error_code; message wording made up)"),
        c("anthropic", "ratelimited", "rate_limited", 429,
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
        c("anthropic", "overloaded", "provider_error", 529, [json, ("request-id", "req_011CSHv6Tc1yZf7Ps2AeW8Jk")],
          #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHv6Tc1yZf7Ps2AeW8Jk"}"#,
          anthropicErrors),
        c("anthropic", "forbidden", "forbidden", 403, anthropicHeaders("req_011CSHw9Xe4aBg2Rt5CfY1Lm"),
          #"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."},"request_id":"req_011CSHw9Xe4aBg2Rt5CfY1Lm"}"#,
          anthropicErrors),
        c("anthropic", "notfound", "unexpected", 404, anthropicHeaders("req_011CSHx2Zg7cDh5Uv8DgZ4Np"),
          #"{"type":"error","error":{"type":"not_found_error","message":"Not found"},"request_id":"req_011CSHx2Zg7cDh5Uv8DgZ4Np"}"#,
          anthropicErrors + " (404 = wrong path; TruffleHog's \"404 = disabled\" not confirmed)"),
    ]

    // MARK: - OpenAI (GET /v1/models)

    private static let openaiErrors = "https://platform.openai.com/docs/guides/error-codes"
    private static func openaiHeaders(_ id: String) -> [(String, String)] {
        [json, ("x-request-id", id), ("openai-processing-ms", "38"), ("openai-version", "2020-10-01")]
    }

    static let openai: [ProviderCase] = [
        c("openai", "valid", "valid", 200, openaiHeaders("req_5b3f0c2d8e1a4f6b9c7d2e0a1b3c5d7e"),
          #"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"},{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},{"id":"text-embedding-3-small","object":"model","created":1705948997,"owned_by":"system"}]}"#,
          "https://platform.openai.com/docs/api-reference/models/list"),
        c("openai", "invalid", "invalid", 401, openaiHeaders("req_8a1d2c3b4e5f60718293a4b5c6d7e8f9"),
          #"{"error":{"message":"Incorrect API key provided: sk-proj-********************************************************************************************************************************************************Xq2A. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
          openaiErrors),
        c("openai", "missingscope", "forbidden", 401, openaiHeaders("req_1f2e3d4c5b6a79880796a5b4c3d2e1f0"),
          #"{"error":{"message":"You have insufficient permissions for this operation. Missing scopes: api.model.read. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a restricted API key, that it has the necessary scopes.","type":"invalid_request_error","param":null,"code":null}}"#,
          "https://github.com/continuedev/continue/issues/10059"),
        c("openai", "wrongorg", "forbidden", 401, openaiHeaders("req_0a9b8c7d6e5f40312a3b4c5d6e7f8091"),
          #"{"error":{"message":"OpenAI-Organization header should match organization for API key","type":"invalid_request_error","param":null,"code":"mismatched_organization"}}"#,
          openaiErrors + " (code from community reports)"),
        c("openai", "quotaexhausted", "no_credit", 429, openaiHeaders("req_9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49"),
          #"{"error":{"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
          "https://github.com/simonw/llm/issues/494"),
        c("openai", "ratelimited", "rate_limited", 429,
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
        c("openai", "ratelimitedms", "rate_limited", 429,
          openaiHeaders("req_3c5e7a9b1d2f4a6c8e0b2d4f6a8c0e2d") + [
            ("retry-after-ms", "200"),
            ("x-ratelimit-limit-tokens", "30000"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "200ms"),
          ],
          #"{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-Xk3mP9qLr2Tn8VwZ on tokens per min (TPM): Limit 30000, Used 30000, Requested 512. Please try again in 200ms. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
          "openai-python _base_client.py (retry-after-ms); rate-limit guide"),
        c("openai", "unsupportedregion", "forbidden", 403, openaiHeaders("req_4d6f8b0a2c3e5b7d9f1a3c5e7b9d1f3a"),
          #"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}"#,
          openaiErrors),
        c("openai", "overloaded", "provider_error", 503, openaiHeaders("req_5e7a9c1b3d4f6c8e0a2b4d6f8c0e2a4b"),
          #"{"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":null}}"#,
          openaiErrors),
    ]

    // MARK: - Azure OpenAI (GET /openai/models?api-version=2024-10-21)

    private static func azureHeaders(_ id: String) -> [(String, String)] {
        [json, ("apim-request-id", id), ("x-ms-region", "East US")]
    }

    static let azureOpenAI: [ProviderCase] = [
        c("azure-openai", "valid", "valid", 200, azureHeaders("6b1e4c2a-9f3d-4d7b-8a2e-5c0f1b3d7e91"),
          #"{"data":[{"status":"succeeded","capabilities":{"fine_tune":false,"inference":true,"completion":false,"chat_completion":true,"embeddings":false},"lifecycle_status":"generally-available","deprecation":{"inference":1767225600},"id":"gpt-4o-2024-08-06","created_at":1722902400,"object":"model"}],"object":"list"}"#,
          "https://learn.microsoft.com/azure/ai-services/openai/reference (Models - List)"),
        c("azure-openai", "invalid", "invalid", 401, azureHeaders("0d2f7a1c-3e5b-4c8d-9f1a-2b4c6d8e0f13"),
          #"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#,
          "reference table; Azure AI services error reference"),
        c("azure-openai", "ratelimited", "rate_limited", 429, azureHeaders("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d") + [("retry-after", "1"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-remaining-tokens", "0")],
          #"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}"#,
          "reference table (\"retry after N seconds\")"),
        c("azure-openai", "firewall", "forbidden", 403, azureHeaders("2c4e6a8b-0d1f-4e3a-9b5c-7d9f1b3d5f70"),
          #"{"error":{"code":"403","message":"Access denied due to Virtual Network/Firewall rules."}}"#,
          "Azure AI services virtual networks docs (message)"),
        c("azure-openai", "notfound", "unexpected", 404, azureHeaders("3d5f7b9c-1e2a-4f4b-8c6d-8e0a2c4e6a81"),
          #"{"error":{"code":"404","message":"Resource not found"}}"#,
          "Azure OpenAI wrong api-version or path (commonly reported)"),
    ]

    // MARK: - Gemini (GET /v1beta/models)

    private static let geminiTrouble = "https://ai.google.dev/gemini-api/docs/troubleshooting"
    private static let googleJSON: [(String, String)] = [("content-type", "application/json; charset=UTF-8"), ("vary", "Origin, X-Origin, Referer"), ("server", "scaffolding on HTTPServer2")]

    static let gemini: [ProviderCase] = [
        c("gemini", "valid", "valid", 200, googleJSON,
          #"{"models":[{"name":"models/gemini-2.5-flash","version":"001","displayName":"Gemini 2.5 Flash","description":"Stable version of Gemini 2.5 Flash","inputTokenLimit":1048576,"outputTokenLimit":65536,"supportedGenerationMethods":["generateContent","countTokens","createCachedContent","batchGenerateContent"],"temperature":1,"topP":0.95,"topK":64,"maxTemperature":2,"thinking":true}],"nextPageToken":"Ch1tb2RlbHMvZ2VtaW5pLTIuNS1mbGFzaC1saXRl"}"#,
          "https://ai.google.dev/api/models#method:-models.list"),
        c("gemini", "invalid", "invalid", 400, googleJSON,
          #"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}"#,
          geminiTrouble),
        c("gemini", "expired", "invalid", 400, googleJSON,
          #"{"error":{"code":400,"message":"API key expired. Please renew the API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key expired. Please renew the API key."}]}}"#,
          "commonly reported; reference brief"),
        c("gemini", "leaked", "invalid", 403, googleJSON,
          #"{"error":{"code":403,"message":"Your API key was reported as leaked. Please use another API key.","status":"PERMISSION_DENIED"}}"#,
          "https://github.com/continuedev/continue/issues/10513"),
        c("gemini", "servicedisabled", "forbidden", 403, googleJSON,
          #"{"error":{"code":403,"message":"Generative Language API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=123456789012 then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED","domain":"googleapis.com","metadata":{"consumer":"projects/123456789012","service":"generativelanguage.googleapis.com","activationUrl":"https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=123456789012","serviceTitle":"Generative Language API","containerInfo":"123456789012"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"Generative Language API has not been used in project 123456789012 before or it is disabled."},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Google developers console API activation","url":"https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=123456789012"}]}]}}"#,
          "google.rpc ErrorInfo SERVICE_DISABLED (Google Cloud API errors)"),
        c("gemini", "keyblocked", "forbidden", 403, googleJSON,
          #"{"error":{"code":403,"message":"Requests to this API generativelanguage.googleapis.com method google.ai.generativelanguage.v1beta.ModelService.ListModels are blocked.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_SERVICE_BLOCKED","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com","methodName":"google.ai.generativelanguage.v1beta.ModelService.ListModels","consumer":"projects/123456789012","apiName":"generativelanguage.googleapis.com"}}]}}"#,
          "google.rpc ErrorInfo API_KEY_SERVICE_BLOCKED (Google Cloud API errors)"),
        c("gemini", "suspended", "forbidden", 403, googleJSON,
          #"{"error":{"code":403,"message":"Permission denied: Consumer 'api_key:AIzaSyD3xampleKey0000000000000000000000' has been suspended.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"CONSUMER_SUSPENDED","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com","consumer":"projects/123456789012"}}]}}"#,
          "https://github.com/coaidev/coai/issues/67 (message); ErrorInfo reason from reference table"),
        c("gemini", "unsupportedlocation", "forbidden", 400, googleJSON,
          #"{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}"#,
          geminiTrouble),
        c("gemini", "quotaexhausted", "no_credit", 429, googleJSON,
          #"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 250, model: gemini-2.5-flash","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"250"}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"43s"}]}}"#,
          "https://ai.google.dev/gemini-api/docs/rate-limits; commonly reported QuotaFailure bodies"),
        c("gemini", "ratelimited", "rate_limited", 429, googleJSON,
          #"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.5-flash","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"10"}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]}}"#,
          "https://ai.google.dev/gemini-api/docs/rate-limits"),
        c("gemini", "creditsdepleted", "no_credit", 429, googleJSON,
          #"{"error":{"code":429,"message":"Your prepayment credits are depleted. Please go to AI Studio at https://ai.studio/projects to manage your project and billing.","status":"RESOURCE_EXHAUSTED"}}"#,
          "https://github.com/JeffOtano/roni/pull/125 (wording from reports)"),
        c("gemini", "overloaded", "provider_error", 503, googleJSON,
          #"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#,
          geminiTrouble),
    ]

    // MARK: - Mistral (GET /v1/models)

    private static func mistralHeaders(_ id: String) -> [(String, String)] {
        [json, ("mistral-correlation-id", id), ("x-kong-request-id", String(id.prefix(24)))]
    }

    static let mistral: [ProviderCase] = [
        c("mistral", "valid", "valid", 200, mistralHeaders("0197a3c2-5e1b-7f4a-9d2c-6b8e0f1a3c5d"),
          #"{"object":"list","data":[{"id":"mistral-small-latest","object":"model","created":1750000000,"owned_by":"mistralai","capabilities":{"completion_chat":true,"function_calling":true,"vision":true},"name":"mistral-small-2506","max_context_length":131072,"type":"base"}]}"#,
          "https://docs.mistral.ai/api/#tag/models"),
        c("mistral", "invalid", "invalid", 401, mistralHeaders("0197a3c2-6f2c-7a5b-8e3d-7c9f1a2b4d6e"),
          #"{"message":"Unauthorized","request_id":"7c3e9a1f2b4d6e8a0c2e4f6a8b0d2f4a"}"#,
          "reference table (401 bodies vary: {\"message\":\"Unauthorized\"} / {\"detail\":\"Unauthorized\"})"),
        c("mistral", "nocredit", "no_credit", 402, mistralHeaders("0197a3c2-7a3d-7b6c-9f4e-8d0a2b3c5e7f"),
          #"{"object":"error","message":"Payment required: your workspace has no active billing or credit.","type":"payment_required","param":null,"code":"3300"}"#,
          "reference table (402); body wording and code unconfirmed"),
        c("mistral", "ratelimited", "rate_limited", 429, mistralHeaders("0197a3c2-8b4e-7c7d-8a5f-9e1b3c4d6f80") + [("retry-after", "1"), ("ratelimitbysize-limit", "500000"), ("ratelimitbysize-remaining", "0")],
          #"{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}"#,
          "https://tempfileserver.knowledge.yunwoai.com/mistral_ocr_resp_after_restart.json (observed body)"),
        c("mistral", "capacity", "provider_error", 429, mistralHeaders("0197a3c2-9c5f-7d8e-9b6a-0f2c4d5e7a91"),
          #"{"object":"error","message":"Service tier capacity exceeded for this model.","type":"service_tier_capacity_exceeded","param":null,"code":"3505"}"#,
          "commonly reported Mistral 429 (code 3505)"),
    ]

    // MARK: - Groq (GET /openai/v1/models)

    private static let groqErrors = "https://console.groq.com/docs/errors"
    private static func groqHeaders(_ id: String) -> [(String, String)] {
        [json, ("x-request-id", id), ("x-groq-region", "us-east-1")]
    }

    static let groq: [ProviderCase] = [
        c("groq", "valid", "valid", 200, groqHeaders("req_01jx8q3m2nf5r9t7v6w4y2z0a1"),
          #"{"object":"list","data":[{"id":"llama-3.3-70b-versatile","object":"model","created":1733447754,"owned_by":"Meta","active":true,"context_window":131072,"public_apps":null,"max_completion_tokens":32768},{"id":"llama-3.1-8b-instant","object":"model","created":1693721698,"owned_by":"Meta","active":true,"context_window":131072,"public_apps":null,"max_completion_tokens":131072}]}"#,
          "https://console.groq.com/docs/api-reference#models-list"),
        c("groq", "invalid", "invalid", 401, groqHeaders("req_01jx8q4n3pg6s0v8w7x5z3a1b2"),
          #"{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}"#,
          groqErrors),
        c("groq", "ratelimited", "rate_limited", 429,
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
        c("groq", "dailylimit", "no_credit", 429,
          groqHeaders("req_01jx8q6q5ri8v2x0y9z7b5c3d4") + [("retry-after", "2520"), ("x-ratelimit-limit-requests", "1000"), ("x-ratelimit-remaining-requests", "0")],
          #"{"error":{"message":"Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01hx2k3m4n5p6q7r8s9t0v1w2x` service tier `on_demand` on requests per day (RPD): Limit 1000, Used 1000, Requested 1. Please try again in 42m0s. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing","type":"requests","code":"rate_limit_exceeded"}}"#,
          "https://console.groq.com/docs/rate-limits (RPD)"),
        c("groq", "capacity", "provider_error", 498, groqHeaders("req_01jx8q7r6sj9w3y1z0a8c6d4e5"),
          #"{"error":{"message":"Flex tier capacity exceeded. This is a known issue and we are working on it. Please try again later.","type":"internal_server_error","code":"capacity_exceeded"}}"#,
          "https://console.groq.com/docs/flex-processing (498 capacity_exceeded; message wording made up)"),
        c("groq", "restricted", "forbidden", 400, groqHeaders("req_01jx8q8s7tk0x4z2a1b9d7e5f6"),
          #"{"error":{"message":"Organization has been restricted. Please reach out to support if you believe this was in error.","type":"invalid_request_error","code":"organization_restricted"}}"#,
          "commonly reported Groq error (status unconfirmed)"),
        c("groq", "overloaded", "provider_error", 503, groqHeaders("req_01jx8q9t8ul1y5a3b2c0e8f6g7"),
          #"{"error":{"message":"Service Unavailable","type":"internal_server_error"}}"#,
          groqErrors),
    ]

    // MARK: - DeepSeek (GET /user/balance)

    private static let deepseekErrors = "https://api-docs.deepseek.com/quick_start/error_codes"

    static let deepseek: [ProviderCase] = [
        c("deepseek", "valid", "valid", 200, [json],
          #"{"is_available":true,"balance_infos":[{"currency":"CNY","total_balance":"110.00","granted_balance":"10.00","topped_up_balance":"100.00"}]}"#,
          "https://api-docs.deepseek.com/api/get-user-balance"),
        c("deepseek", "invalid", "invalid", 401, [json],
          #"{"error":{"message":"Authentication Fails, Your api key: ****a1b2 is invalid","type":"authentication_error","param":null,"code":"invalid_request_error"}}"#,
          deepseekErrors),
        c("deepseek", "nocredit", "no_credit", 402, [json],
          #"{"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}}"#,
          deepseekErrors),
        c("deepseek", "unavailablebalance", "no_credit", 200, [json],
          #"{"is_available":false,"balance_infos":[{"currency":"CNY","total_balance":"0.00","granted_balance":"0.00","topped_up_balance":"0.00"}]}"#,
          "https://api-docs.deepseek.com/api/get-user-balance"),
        c("deepseek", "ratelimited", "rate_limited", 429, [json, ("retry-after", "1")],
          #"{"error":{"message":"Rate Limit Reached","type":"rate_limit_error","param":null,"code":"rate_limit_reached"}}"#,
          deepseekErrors + " (body wording unconfirmed)"),
        c("deepseek", "overloaded", "provider_error", 503, [json],
          #"{"error":{"message":"Server Overloaded","type":"server_error","param":null,"code":"server_overloaded"}}"#,
          deepseekErrors + " (body wording unconfirmed)"),
    ]

    // MARK: - Zhipu (GET /api/paas/v4/models)

    private static let zhipuCodes = "https://docs.bigmodel.cn/cn/api/api-code"

    static let zhipu: [ProviderCase] = [
        c("zhipu", "valid", "valid", 200, [json],
          #"{"object":"list","data":[{"id":"glm-4.5","object":"model","created":1753632000,"owned_by":"z-ai"},{"id":"glm-4-flash","object":"model","created":1722470400,"owned_by":"z-ai"}]}"#,
          "probe unconfirmed (OpenAI-compatible list shape)"),
        c("zhipu", "invalid", "invalid", 401, [json],
          #"{"error":{"code":"401","message":"令牌已过期或验证不正确！"}}"#,
          "https://github.com/zhipuai/zhipuai-sdk-python/issues/25"),
        c("zhipu", "expired", "invalid", 401, [json],
          #"{"error":{"code":"1003","message":"Authorization Token已过期，请重新生成/获取。"}}"#,
          "https://github.com/MetaGLM/zhipuai-sdk-python-v4/issues/8"),
        c("zhipu", "arrears", "no_credit", 429, [json],
          #"{"error":{"code":"1113","message":"您的账户已欠费，请充值后重试。"}}"#,
          zhipuCodes),
        c("zhipu", "locked", "forbidden", 429, [json],
          #"{"error":{"code":"1112","message":"您的账户已被锁定，请联系客服解锁。"}}"#,
          zhipuCodes),
        c("zhipu", "noaccess", "forbidden", 400, [json],
          #"{"error":{"code":"1220","message":"您无权访问glm-4-plus。"}}"#,
          zhipuCodes + " (status unconfirmed)"),
        c("zhipu", "ratelimited", "rate_limited", 429, [json],
          #"{"error":{"code":"1302","message":"您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。"}}"#,
          zhipuCodes),
        c("zhipu", "frequency", "rate_limited", 429, [json],
          #"{"error":{"code":"1303","message":"您当前使用该API的频率过高，请降低频率，或联系客服增加限额。"}}"#,
          zhipuCodes),
        c("zhipu", "dailylimit", "no_credit", 429, [json],
          #"{"error":{"code":"1304","message":"该API已达今日调用次数限额，如有更多需求，请联系客服购买。"}}"#,
          zhipuCodes),
        c("zhipu", "busy", "provider_error", 429, [json],
          #"{"error":{"code":"1305","message":"该API已触发流量限制。"}}"#,
          zhipuCodes),
        c("zhipu", "overloaded", "provider_error", 429, [json],
          #"{"error":{"code":"1312","message":"该模型当前访问量过大，请您稍后再试，或切换其他模型如 glm-4-flash 等。"}}"#,
          zhipuCodes),
    ]

    // MARK: - Z.ai (GET /api/paas/v4/models)

    private static let zaiCodes = "https://docs.z.ai/api-reference/api-code"

    static let zai: [ProviderCase] = [
        c("zai", "valid", "valid", 200, [json],
          #"{"object":"list","data":[{"id":"glm-4.6","object":"model","created":1759190400,"owned_by":"z-ai"},{"id":"glm-4.5-air","object":"model","created":1753632000,"owned_by":"z-ai"}]}"#,
          "probe unconfirmed (OpenAI-compatible list shape)"),
        c("zai", "invalid", "invalid", 401, [json],
          #"{"error":{"code":"1000","message":"Authentication Failed"}}"#,
          zaiCodes + " (code 1000; English wording unconfirmed)"),
        c("zai", "arrears", "no_credit", 429, [json],
          #"{"error":{"code":"1113","message":"Insufficient balance or no resource package. Please recharge."}}"#,
          zaiCodes),
        c("zai", "noaccess", "forbidden", 400, [json],
          #"{"error":{"code":"1220","message":"You do not have permission to access glm-4.6"}}"#,
          zaiCodes + " (status unconfirmed)"),
        c("zai", "ratelimited", "rate_limited", 429, [json],
          #"{"error":{"code":"1302","message":"High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits"}}"#,
          zaiCodes),
        c("zai", "overloaded", "provider_error", 429, [json],
          #"{"error":{"code":"1312","message":"Due to high load on this model, please try again later or switch to other models such as glm-4.5-air."}}"#,
          zaiCodes),
        c("zai", "planexpired", "no_credit", 429, [json],
          #"{"error":{"code":"1309","message":"Your GLM Coding Plan package has expired and is temporarily unavailable. Renew it to resume service."}}"#,
          zaiCodes),
        c("zai", "usagelimit", "no_credit", 429, [json],
          #"{"error":{"code":"1308","message":"Usage limit reached for 5 hour. Your limit will reset at 2025-10-12 18:00:00"}}"#,
          zaiCodes),
    ]

    // MARK: - Moonshot (GET /v1/models)

    private static let moonshotErrors = "https://platform.moonshot.ai/docs/api/chat#error-explanation"
    private static func moonshotHeaders(_ id: String) -> [(String, String)] {
        [json, ("msh-request-id", id)]
    }

    static let moonshot: [ProviderCase] = [
        c("moonshot", "valid", "valid", 200, moonshotHeaders("c4a1e8f2-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
          #"{"object":"list","data":[{"id":"kimi-k2-0905-preview","object":"model","created":1757030400,"owned_by":"moonshot","root":"kimi-k2-0905-preview","parent":"","permission":[]},{"id":"moonshot-v1-8k","object":"model","created":1712000000,"owned_by":"moonshot","root":"moonshot-v1-8k","parent":"","permission":[]}]}"#,
          "https://platform.moonshot.ai/docs/api/list-models"),
        c("moonshot", "invalid", "invalid", 401, moonshotHeaders("c4a1e8f3-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
          #"{"error":{"message":"Invalid Authentication","type":"invalid_authentication_error"}}"#,
          moonshotErrors),
        c("moonshot", "nocredit", "no_credit", 429, moonshotHeaders("c4a1e8f4-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
          #"{"error":{"message":"Your account org-4f2a8c1e9b3d<ak-e7b2c9a4f1d8> is suspended, please check your plan and billing details","type":"exceeded_current_quota_error"}}"#,
          "https://forum.moonshot.ai/t/api-billing-behaviour/111"),
        c("moonshot", "lowbalance", "no_credit", 403, moonshotHeaders("c4a1e8f5-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
          #"{"error":{"message":"Your account org-4f2a8c1e9b3d<ak-e7b2c9a4f1d8> is suspended due to insufficient balance, please recharge your account or check your plan and billing details","type":"permission_denied_error"}}"#,
          "https://www.kimi.com/help/kimi-api/api-troubleshooting (403 = insufficient balance; body shape unconfirmed)"),
        c("moonshot", "ratelimited", "rate_limited", 429, moonshotHeaders("c4a1e8f6-7b3d-11f0-9a2c-5e6f7a8b9c0d") + [("retry-after", "1")],
          #"{"error":{"message":"Your account org-4f2a8c1e9b3d<ak-e7b2c9a4f1d8> request reached organization max RPM: 3, please try again after 1 seconds","type":"rate_limit_reached_error"}}"#,
          "https://github.com/harry0703/MoneyPrinterTurbo/issues/339"),
        c("moonshot", "overloaded", "provider_error", 429, moonshotHeaders("c4a1e8f7-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
          #"{"error":{"message":"The engine is currently overloaded, please try again later","type":"engine_overloaded_error"}}"#,
          moonshotErrors),
        c("moonshot", "forbidden", "forbidden", 403, moonshotHeaders("c4a1e8f8-7b3d-11f0-9a2c-5e6f7a8b9c0d"),
          #"{"error":{"message":"The API you are accessing is not open","type":"permission_denied_error"}}"#,
          moonshotErrors),
    ]

    // MARK: - DashScope (GET /compatible-mode/v1/models)

    private static let dashscopeErrors = "https://www.alibabacloud.com/help/en/model-studio/error-code"
    private static func dashscopeHeaders(_ id: String) -> [(String, String)] {
        [json, ("x-request-id", id), ("req-cost-time", "12")]
    }

    static let dashscope: [ProviderCase] = [
        c("dashscope", "valid", "valid", 200, dashscopeHeaders("8f3c2a1e-5b7d-9e4f-a1c3-2d5e7f9a0b1c"),
          #"{"object":"list","data":[{"id":"qwen-plus","object":"model","created":1726000000,"owned_by":"system"},{"id":"qwen3-max","object":"model","created":1758153600,"owned_by":"system"}]}"#,
          "OpenAI-compatible models list (shape from compatible mode)"),
        c("dashscope", "invalid", "invalid", 401, dashscopeHeaders("9a4d3b2f-6c8e-0f5a-b2d4-3e6f8a0b1c2d"),
          #"{"error":{"message":"Incorrect API key provided. For details, see: https://www.alibabacloud.com/help/en/model-studio/error-code#apikey-error","type":"invalid_request_error","param":null,"code":"invalid_api_key"},"request_id":"9a4d3b2f-6c8e-0f5a-b2d4-3e6f8a0b1c2d"}"#,
          "https://github.com/Aider-AI/aider/issues/4712; " + dashscopeErrors),
        c("dashscope", "arrears", "no_credit", 400, dashscopeHeaders("224c8981-4e34-9884-a89c-b1c10c9d8485"),
          #"{"error":{"message":"Access denied, please make sure your account is in good standing. For details, see: https://help.aliyun.com/zh/model-studio/error-code#overdue-payment","type":"Arrearage","param":null,"code":"Arrearage"},"id":"224c8981-4e34-9884-a89c-b1c10c9d8485","request_id":"224c8981-4e34-9884-a89c-b1c10c9d8485"}"#,
          dashscopeErrors + " (Arrearage); observed body in public code"),
        c("dashscope", "accessdenied", "forbidden", 403, dashscopeHeaders("0b5e4c3a-7d9f-1a6b-c3e5-4f7a9b1c2d3e"),
          #"{"error":{"message":"Access denied.","type":"AccessDenied","param":null,"code":"AccessDenied"},"request_id":"0b5e4c3a-7d9f-1a6b-c3e5-4f7a9b1c2d3e"}"#,
          dashscopeErrors),
        c("dashscope", "freetierexhausted", "no_credit", 403, dashscopeHeaders("1c6f5d4b-8e0a-2b7c-d4f6-5a8b0c2d3e4f"),
          #"{"error":{"message":"The free tier of the model has been exhausted. If you wish to continue access the model on a paid basis, please disable the \"use free tier only\" mode in the management console.","type":"AllocationQuota.FreeTierOnly","param":null,"code":"AllocationQuota.FreeTierOnly"},"request_id":"1c6f5d4b-8e0a-2b7c-d4f6-5a8b0c2d3e4f"}"#,
          dashscopeErrors + " (AllocationQuota.FreeTierOnly)"),
        c("dashscope", "ratelimited", "rate_limited", 429, dashscopeHeaders("2d7a6e5c-9f1b-3c8d-e5a7-6b9c1d3e4f5a"),
          #"{"error":{"message":"Requests rate limit exceeded, please try again later.","type":"Throttling.RateQuota","param":null,"code":"Throttling.RateQuota"},"request_id":"2d7a6e5c-9f1b-3c8d-e5a7-6b9c1d3e4f5a"}"#,
          dashscopeErrors + " (Throttling.RateQuota)"),
    ]

    // MARK: - OpenRouter (GET /api/v1/key)

    private static let openrouterKey = "https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key"

    static let openrouter: [ProviderCase] = [
        c("openrouter", "valid", "valid", 200, [json],
          #"{"data":{"label":"sk-or-v1-au7...890","limit":100,"usage":25.5,"usage_daily":0.42,"usage_weekly":3.1,"usage_monthly":25.5,"byok_usage":0,"byok_usage_daily":0,"byok_usage_weekly":0,"byok_usage_monthly":0,"is_free_tier":false,"is_provisioning_key":false,"limit_remaining":74.5,"limit_reset":"monthly","include_byok_in_limit":false,"expires_at":null,"rate_limit":{"requests":-1,"interval":"10s","note":"This field is deprecated and safe to ignore."}}}"#,
          openrouterKey),
        c("openrouter", "invalid", "invalid", 401, [json],
          #"{"error":{"message":"User not found.","code":401}}"#,
          "commonly reported OpenRouter 401; reference table"),
        c("openrouter", "nocredit", "no_credit", 402, [json],
          #"{"error":{"message":"Insufficient credits. Add more using https://openrouter.ai/settings/credits","code":402}}"#,
          "https://github.com/hackclub/ai/issues/128"),
        c("openrouter", "keylimit", "no_credit", 200, [json],
          #"{"data":{"label":"sk-or-v1-3c1...e4f","limit":5,"usage":5,"is_free_tier":false,"is_provisioning_key":false,"limit_remaining":0,"limit_reset":null,"include_byok_in_limit":false,"rate_limit":{"requests":-1,"interval":"10s"}}}"#,
          openrouterKey + " (limit_remaining)"),
        c("openrouter", "overspent", "no_credit", 200, [json],
          #"{"data":{"label":"sk-or-v1-9b2...a07","limit":5,"usage":5.0731,"is_free_tier":false,"is_provisioning_key":false,"limit_remaining":-0.0731,"limit_reset":null,"include_byok_in_limit":false,"rate_limit":{"requests":-1,"interval":"10s"}}}"#,
          openrouterKey + " (negative remainder after overspend: inferred)"),
        c("openrouter", "ratelimited", "rate_limited", 429, [json, ("retry-after", "1"), ("x-ratelimit-limit", "20"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1750000001000")],
          #"{"error":{"message":"Rate limit exceeded: free-models-per-min. ","code":429,"metadata":{"headers":{"X-RateLimit-Limit":"20","X-RateLimit-Remaining":"0","X-RateLimit-Reset":"1750000001000"},"provider_name":null}}}"#,
          "https://openrouter.ai/docs/api-reference/limits"),
        c("openrouter", "unavailable", "provider_error", 503, [json],
          #"{"error":{"message":"Service temporarily unavailable","code":503}}"#,
          "reference table (502/503)"),
    ]

    // MARK: - Cohere (POST /v1/check-api-key)

    private static let cohereCheck = "https://docs.cohere.com/reference/check-api-key"

    static let cohere: [ProviderCase] = [
        c("cohere", "valid", "valid", 200, [json, ("x-trial-endpoint-call-limit", "40"), ("x-trial-endpoint-call-remaining", "39")],
          #"{"valid":true,"organization_id":"9c2e4f6a-8b1d-4e3f-a5c7-0d2e4f6a8b1c","owner_id":"4a6c8e0b-2d4f-4a6c-8e0b-2d4f6a8c0e2b"}"#,
          cohereCheck),
        c("cohere", "invalid", "invalid", 200, [json],
          #"{"valid":false}"#,
          cohereCheck + " (valid: false)"),
        c("cohere", "unauthorized", "invalid", 401, [json],
          #"{"id":"5f7a9c1e-3b5d-4f7a-9c1e-3b5d7f9a1c3e","message":"invalid api token"}"#,
          cohereCheck + " (401)"),
        c("cohere", "invalidtoken", "invalid", 498, [json],
          #"{"id":"6a8b0d2f-4c6e-4a8b-0d2f-4c6e8a0b2d4f","message":"invalid api token"}"#,
          cohereCheck + " (498 Invalid Token)"),
        c("cohere", "trialexhausted", "no_credit", 429, [json],
          #"{"id":"7b9c1e3a-5d7f-4b9c-1e3a-5d7f9b1c3e5a","message":"You are using a Trial key, which is limited to 1000 API calls / month. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'. Contact us on 'https://discord.gg/XW44jPfYJu' or email us at support@cohere.com with any questions"}"#,
          "commonly reported Cohere trial-key 429"),
        c("cohere", "ratelimited", "rate_limited", 429, [json, ("retry-after", "1")],
          #"{"id":"8c0d2f4b-6e8a-4c0d-2f4b-6e8a0c2d4f6b","message":"You are using a Trial key, which is limited to 20 API calls / minute. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'."}"#,
          "commonly reported Cohere trial-key 429"),
        c("cohere", "nocredit", "no_credit", 402, [json],
          #"{"id":"9d1e3a5c-7f9b-4d1e-3a5c-7f9b1d3e5a7c","message":"Please add a payment method to continue using the API: https://dashboard.cohere.com/billing"}"#,
          "reference table (402; wording unconfirmed)"),
    ]

    // MARK: - Together (GET /v1/models)

    private static let togetherErrors = "https://docs.together.ai/docs/error-codes"

    static let together: [ProviderCase] = [
        c("together", "valid", "valid", 200, [json, ("x-request-id", "oXk2P9a-4Yz3Jq-97d2f1c8e6b4a3d5")],
          #"[{"id":"meta-llama/Llama-3.3-70B-Instruct-Turbo","object":"model","created":1733443200,"type":"chat","running":false,"display_name":"Meta Llama 3.3 70B Instruct Turbo","organization":"Meta","link":"https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct","context_length":131072,"config":{"chat_template":null,"stop":["<|eot_id|>"],"bos_token":null,"eos_token":null},"pricing":{"hourly":0,"input":0.88,"output":0.88,"base":0,"finetune":0}}]"#,
          "https://docs.together.ai/reference/models-1 (a bare array)"),
        c("together", "invalid", "invalid", 401, [json],
          #"{"error":{"message":"Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
          togetherErrors),
        c("together", "nocredit", "no_credit", 402, [json],
          #"{"error":{"message":"Credit limit exceeded. Please navigate to https://api.together.xyz/settings/billing to add credits or adjust your limit.","type":"credit_limit","param":null,"code":null}}"#,
          togetherErrors + " (402; wording unconfirmed)"),
        c("together", "ratelimited", "rate_limited", 429, [json, ("retry-after", "1"), ("x-ratelimit-limit", "60"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")],
          #"{"error":{"message":"You have been rate limited. Your rate limit is 60 queries per minute. Please navigate to https://api.together.xyz/settings/billing to upgrade to a paid plan.","type":"credit_limit","param":null,"code":null}}"#,
          "https://github.com/togethercomputer/MoA/issues/27 (type credit_limit on a rate limit)"),
        c("together", "overloaded", "provider_error", 503, [json],
          #"{"error":{"message":"The server is overloaded or not ready yet.","type":"server_error","param":null,"code":null}}"#,
          togetherErrors),
    ]

    // MARK: - xAI (GET /v1/api-key)

    private static let xaiKey = "https://docs.x.ai/docs/api-reference#api-key"
    private static func xaiInfo(blocked: Bool = false, disabled: Bool = false, team: Bool = false) -> String {
        #"{"redacted_api_key":"xai-...b14o","user_id":"59fbe5f2-040b-46d5-8325-868bb8f23eb2","name":"keywarden","create_time":"2025-01-01T12:55:18.139305Z","modify_time":"2025-08-28T17:20:12.343321Z","modified_by":"3d38b4dc-4eb7-4785-ae26-c3fa8997ffc7","team_id":"5ea6f6bd-7815-4b8a-9135-28b2d7ba6722","acls":["api-key:model:*","api-key:endpoint:*"],"api_key_id":"ae1e1841-4326-4b36-a8a9-8a1a7237db11","team_blocked":"#
            + (team ? "true" : "false") + #","api_key_blocked":"# + (blocked ? "true" : "false")
            + #","api_key_disabled":"# + (disabled ? "true" : "false") + "}"
    }

    static let xai: [ProviderCase] = [
        c("xai", "valid", "valid", 200, [json], xaiInfo(), xaiKey),
        c("xai", "invalid", "invalid", 400, [json],
          #"{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***4o. You can obtain an API key from https://console.x.ai."}"#,
          "reference table (400 \"Incorrect API key provided\")"),
        c("xai", "missingkey", "invalid", 401, [json],
          #"{"code":"The request does not have valid authentication credentials","error":"No API key provided. Please provide an API key in the Authorization header."}"#,
          "reference table (401 when missing; wording unconfirmed)"),
        c("xai", "nocredit", "no_credit", 429, [json],
          #"{"code":"Some resource has been exhausted","error":"Your team 5ea6f6bd-7815-4b8a-9135-28b2d7ba6722 has either used all available credits or reached its monthly spending limit. To continue making API requests, please purchase more credits or raise your spending limit."}"#,
          "https://github.com/continuedev/continue/issues/10373"),
        c("xai", "nocreditsyet", "no_credit", 403, [json],
          #"{"code":"The caller does not have permission to execute the specified operation","error":"Your newly created team doesn't have any credits yet. You can purchase credits on https://console.x.ai/team/5ea6f6bd-7815-4b8a-9135-28b2d7ba6722."}"#,
          "https://github.com/griptape-ai/griptape-nodes-engine/issues/1079"),
        c("xai", "blocked", "invalid", 200, [json], xaiInfo(blocked: true), xaiKey + " (api_key_blocked)"),
        c("xai", "disabled", "invalid", 200, [json], xaiInfo(disabled: true), xaiKey + " (api_key_disabled)"),
        c("xai", "teamblocked", "forbidden", 200, [json], xaiInfo(team: true), xaiKey + " (team_blocked)"),
        c("xai", "ratelimited", "rate_limited", 429, [json, ("retry-after", "1")],
          #"{"code":"Some resource has been exhausted","error":"Too many requests: you have exceeded the rate limit of 480 requests per minute for this model."}"#,
          "reference table (429; wording unconfirmed)"),
        c("xai", "forbidden", "forbidden", 403, [json],
          #"{"code":"The caller does not have permission to execute the specified operation","error":"The API key does not have permission to access this endpoint."}"#,
          "https://docs.x.ai/docs/key-information/debugging-errors (403; wording unconfirmed)"),
    ]

    // MARK: - Fireworks (GET /inference/v1/models)

    static let fireworks: [ProviderCase] = [
        c("fireworks", "valid", "valid", 200, [json],
          #"{"object":"list","data":[{"id":"accounts/fireworks/models/llama-v3p3-70b-instruct","object":"model","owned_by":"fireworks","created":1733443200,"kind":"HF_BASE_MODEL","supports_chat":true,"supports_image_input":false,"supports_tools":true,"context_length":131072}]}"#,
          "https://docs.fireworks.ai/api-reference/list-models (OpenAI-compatible)"),
        c("fireworks", "invalid", "invalid", 401, [json],
          #"{"error":{"object":"error","type":"invalid_request_error","message":"The API key you provided is invalid."}}"#,
          "reference table (401; wording unconfirmed)"),
        c("fireworks", "nocredit", "no_credit", 402, [json],
          #"{"error":{"object":"error","type":"invalid_request_error","code":"PAYMENT_REQUIRED","message":"Account has insufficient credits. Please add credits at https://fireworks.ai/account/billing."}}"#,
          "reference table (402; wording unconfirmed)"),
        c("fireworks", "suspended", "no_credit", 412, [json, ("x-request-id", "11650e2f-ff1b-4aac-9719-98006adf7349")],
          #"{"error":{"message":"Account my-account is suspended, possibly due to reaching the monthly spending limit or failure to pay past invoices. Please go to https://fireworks.ai/account/billing for more information.","param":null,"code":"PRECONDITION_FAILED","type":"error"},"request_id":"11650e2f-ff1b-4aac-9719-98006adf7349"}"#,
          "https://github.com/pollinations/pollinations/issues/12136"),
        c("fireworks", "ratelimited", "rate_limited", 429, [json, ("retry-after", "1"), ("x-ratelimit-limit-requests", "600"), ("x-ratelimit-remaining-requests", "0")],
          #"{"error":{"object":"error","type":"invalid_request_error","code":"RATE_LIMIT_EXCEEDED","message":"Request rate limit exceeded, please try again later."}}"#,
          "https://docs.fireworks.ai/guides/quotas_usage/rate-limits (wording unconfirmed)"),
    ]

    // MARK: - Perplexity (GET /v1/models)

    static let perplexity: [ProviderCase] = [
        c("perplexity", "valid", "valid", 200, [json],
          #"{"object":"list","data":[{"id":"sonar","object":"model","created":1738368000,"owned_by":"perplexity"},{"id":"sonar-pro","object":"model","created":1738368000,"owned_by":"perplexity"}]}"#,
          "probe unconfirmed (OpenAI-compatible list shape)"),
        // Perplexity sits behind openresty: a bad key gets an HTML page, not JSON.
        c("perplexity", "invalid", "invalid", 401, [("content-type", "text/html"), ("server", "cloudflare")],
          "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>openresty/1.27.1.1</center>\r\n</body>\r\n</html>\r\n",
          "commonly reported Perplexity 401 (openresty HTML)"),
        c("perplexity", "nocredit", "no_credit", 401, [json],
          #"{"error":{"message":"You have run out of API credits. Please add credits at https://www.perplexity.ai/settings/api to continue.","type":"insufficient_quota","code":401}}"#,
          "Perplexity FAQ: 401 also means out of credits (body shape unconfirmed)"),
        c("perplexity", "ratelimited", "rate_limited", 429, [json, ("retry-after", "1")],
          #"{"error":{"message":"Rate limit exceeded","type":"rate_limit_error","code":429}}"#,
          "https://docs.perplexity.ai/guides/rate-limits (wording unconfirmed)"),
    ]

    // MARK: - Hugging Face (GET /api/whoami-v2)

    static let huggingface: [ProviderCase] = [
        c("huggingface", "valid", "valid", 200, [json, ("x-request-id", "Root=1-6842a1f3-4b2c7d9e0f1a3b5c7d9e1f3a")],
          #"{"type":"user","id":"6421b3c0d2f1a8e3b7c9d012","name":"alice","fullname":"Alice Example","email":"alice@example.com","emailVerified":true,"canPay":false,"periodEnd":null,"isPro":false,"avatarUrl":"/avatars/8f1e2d3c4b5a69788796a5b4c3d2e1f0.svg","orgs":[],"auth":{"type":"access_token","accessToken":{"displayName":"keywarden","role":"read","createdAt":"2025-03-01T10:00:00.000Z"}}}"#,
          "https://huggingface.co/docs/hub/api (whoami-v2)"),
        c("huggingface", "invalid", "invalid", 401, [json, ("x-error-message", "Invalid credentials in Authorization header")],
          #"{"error":"Invalid credentials in Authorization header"}"#,
          "huggingface_hub (whoami errors)"),
        c("huggingface", "nocredit", "no_credit", 402, [json],
          #"{"error":"You have exceeded your monthly included credits for Inference Providers. Subscribe to PRO to get 20x more monthly included credits."}"#,
          "reference table (\"exceeded monthly included credits\")"),
        c("huggingface", "ratelimited", "rate_limited", 429, [json, ("retry-after", "1"), ("ratelimit", "\"api\";r=0;t=1"), ("ratelimit-policy", "\"fixed window\";\"api\";q=500;w=300")],
          #"{"error":"You have exceeded our hourly quotas for action: api. Please retry later."}"#,
          "https://huggingface.co/docs/hub/rate-limits (wording unconfirmed)"),
    ]
}

extension BuiltinProvider {
    /// Google Gemini (Generative Language API). Probe: `GET /v1beta/models`.
    static let gemini = BuiltinProvider(definition: geminiDefinition, rules: geminiRules, answers: geminiAnswers)

    // Google is moving Gemini keys from the classic AIza… format to "auth
    // keys" beginning AQ. (reported mid-2026); the AQ. shape is not
    // documented, so only its prefix is checked.
    private static let geminiDefinition = ProviderDefinition(
        name: "gemini",
        displayName: "Google Gemini",
        baseURL: "https://generativelanguage.googleapis.com",
        auth: .header("x-goog-api-key"),
        env: "GEMINI_API_KEY",
        alternateEnv: ["GOOGLE_API_KEY", "GOOGLE_GENERATIVE_AI_API_KEY"],
        keyFormat: KeyFormat(
            pattern: #"(?:AIza[A-Za-z0-9_-]{35}|AQ\.[A-Za-z0-9_.-]{20,})"#,
            prefixes: ["AIza", "AQ."],
            description: "AIza followed by 35 characters (39 in all), or a newer auth key beginning AQ."
        ),
        probe: Probe(method: "GET", path: "/v1beta/models"),
        consoleURL: "https://aistudio.google.com/app/apikey",
        sdkBaseURLEnv: "GOOGLE_GEMINI_BASE_URL"
    )

    // MARK: Rules
    // google.rpc body: {"error":{"code","message","status","details":[{"@type":"…ErrorInfo","reason",…}]}}.
    // https://ai.google.dev/gemini-api/docs/troubleshooting

    private static let geminiRules: [OutcomeRule] = [
        // Expired keys also carry reason API_KEY_INVALID; this rule only gives them a clearer reason.
        OutcomeRule(status: [400, 401, 403], bodyContains: ["api key expired"], outcome: .invalid,
                    reason: "Gemini: the API key expired (400 INVALID_ARGUMENT)",
                    fix: "create a new key at https://aistudio.google.com/app/apikey"),
        OutcomeRule(json: [JSONMatch("error.details.*.reason", equals: "API_KEY_INVALID")], outcome: .invalid,
                    reason: "Gemini: API key not valid (400 INVALID_ARGUMENT, API_KEY_INVALID)",
                    fix: "the key is wrong or deleted: create a new one at https://aistudio.google.com/app/apikey"),
        OutcomeRule(status: [400], bodyContains: ["api key not valid"], outcome: .invalid,
                    reason: "Gemini: API key not valid (400)",
                    fix: "the key is wrong or deleted: create a new one at https://aistudio.google.com/app/apikey"),
        // Google blocks keys it finds in public places; the key never works again.
        OutcomeRule(status: [403], bodyContains: ["reported as leaked"], outcome: .invalid,
                    reason: "Gemini: Google blocked the key as leaked (403 PERMISSION_DENIED)",
                    fix: "delete the key, create a new one at https://aistudio.google.com/app/apikey, and keep it out of public code"),
        OutcomeRule(status: [403], json: [JSONMatch("error.details.*.reason", equals: "SERVICE_DISABLED")], outcome: .forbidden,
                    reason: "Gemini: the Generative Language API is disabled in the key's Google Cloud project (403 SERVICE_DISABLED)",
                    fix: "enable the API in that project: https://console.cloud.google.com/apis/library/generativelanguage.googleapis.com"),
        OutcomeRule(status: [403], json: [JSONMatch("error.details.*.reason", equals: "API_KEY_SERVICE_BLOCKED")], outcome: .forbidden,
                    reason: "Gemini: the key's API restrictions exclude the Generative Language API (403 API_KEY_SERVICE_BLOCKED)",
                    fix: "allow the Generative Language API in the key's restrictions at https://console.cloud.google.com/apis/credentials"),
        OutcomeRule(status: [403], json: [JSONMatch("error.details.*.reason", equals: "API_KEY_IP_ADDRESS_BLOCKED")], outcome: .forbidden,
                    reason: "Gemini: the key's IP restrictions refuse this address (403 API_KEY_IP_ADDRESS_BLOCKED)",
                    fix: "add this IP to the key's application restrictions at https://console.cloud.google.com/apis/credentials"),
        OutcomeRule(status: [403], json: [JSONMatch("error.details.*.reason", equals: "API_KEY_HTTP_REFERRER_BLOCKED")], outcome: .forbidden,
                    reason: "Gemini: the key's website restrictions refuse this request (403 API_KEY_HTTP_REFERRER_BLOCKED)",
                    fix: "use a key without website restrictions for server-side calls (https://console.cloud.google.com/apis/credentials)"),
        // Suspension is a project-level block (abuse or billing); a new key in the same project does not help.
        OutcomeRule(status: [403], json: [JSONMatch("error.details.*.reason", equals: "CONSUMER_SUSPENDED")], outcome: .forbidden,
                    reason: "Gemini: the key's Google Cloud project is suspended (403 CONSUMER_SUSPENDED)",
                    fix: "check the project's status and billing in the Google Cloud console and appeal, or use a key from another project"),
        OutcomeRule(status: [403], bodyContains: ["has been suspended"], outcome: .forbidden,
                    reason: "Gemini: the key's consumer is suspended (403 PERMISSION_DENIED)",
                    fix: "check the project's status and billing in the Google Cloud console and appeal, or use a key from another project"),
        OutcomeRule(status: [403], bodyContains: ["denied access"], outcome: .forbidden,
                    reason: "Gemini: the key's project has been denied access (403 PERMISSION_DENIED)",
                    fix: "contact Google support about the project, or use a key from another project"),
        OutcomeRule(status: [400], bodyContains: ["location is not supported"], outcome: .forbidden,
                    reason: "Gemini: the API is not available from this location (400 FAILED_PRECONDITION)",
                    fix: "call the API from a supported region (https://ai.google.dev/gemini-api/docs/available-regions); the key itself may be fine"),
        OutcomeRule(status: [400], bodyContains: ["free tier is not available in your country"], outcome: .forbidden,
                    reason: "Gemini: the free tier is not available in this country (400 FAILED_PRECONDITION)",
                    fix: "enable billing for the key's project in Google AI Studio (https://aistudio.google.com/app/apikey)"),
        OutcomeRule(status: [429], bodyContains: ["credits are depleted"], outcome: .noCredit,
                    reason: "Gemini: the project's prepaid credits are used up (429 RESOURCE_EXHAUSTED)",
                    fix: "add credits to the project's billing in Google AI Studio (https://aistudio.google.com/app/apikey)"),
        // A per-day quota (quotaId …PerDay…) only comes back tomorrow: no point retrying.
        OutcomeRule(status: [429], bodyContains: ["perday"], outcome: .noCredit,
                    reason: "Gemini: the daily quota is used up (429 RESOURCE_EXHAUSTED, per-day quota)",
                    fix: "wait until the quota resets (midnight Pacific time) or enable billing for higher limits: https://ai.google.dev/gemini-api/docs/rate-limits"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "Gemini: per-minute quota exceeded (429 RESOURCE_EXHAUSTED)",
                    fix: "wait for the RetryInfo delay in the body and slow down: https://ai.google.dev/gemini-api/docs/rate-limits"),
    ]

    // MARK: Documented answers

    private static let geminiTrouble = "https://ai.google.dev/gemini-api/docs/troubleshooting"
    private static let googleJSON: [(String, String)] = [("content-type", "application/json; charset=UTF-8"), ("vary", "Origin, X-Origin, Referer"), ("server", "scaffolding on HTTPServer2")]

    private static let geminiAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, googleJSON,
            #"{"models":[{"name":"models/gemini-2.5-flash","version":"001","displayName":"Gemini 2.5 Flash","description":"Stable version of Gemini 2.5 Flash","inputTokenLimit":1048576,"outputTokenLimit":65536,"supportedGenerationMethods":["generateContent","countTokens","createCachedContent","batchGenerateContent"],"temperature":1,"topP":0.95,"topK":64,"maxTemperature":2,"thinking":true}],"nextPageToken":"Ch1tb2RlbHMvZ2VtaW5pLTIuNS1mbGFzaC1saXRl"}"#,
            "https://ai.google.dev/api/models#method:-models.list"),
        answer("invalid", .invalid, 400, googleJSON,
            #"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}"#,
            geminiTrouble),
        answer("expired", .invalid, 400, googleJSON,
            #"{"error":{"code":400,"message":"API key expired. Please renew the API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key expired. Please renew the API key."}]}}"#,
            "commonly reported; reference brief"),
        answer("leaked", .invalid, 403, googleJSON,
            #"{"error":{"code":403,"message":"Your API key was reported as leaked. Please use another API key.","status":"PERMISSION_DENIED"}}"#,
            "https://github.com/continuedev/continue/issues/10513"),
        answer("servicedisabled", .forbidden, 403, googleJSON,
            #"{"error":{"code":403,"message":"Generative Language API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=123456789012 then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED","domain":"googleapis.com","metadata":{"consumer":"projects/123456789012","service":"generativelanguage.googleapis.com","activationUrl":"https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=123456789012","serviceTitle":"Generative Language API","containerInfo":"123456789012"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"Generative Language API has not been used in project 123456789012 before or it is disabled."},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Google developers console API activation","url":"https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=123456789012"}]}]}}"#,
            "google.rpc ErrorInfo SERVICE_DISABLED (Google Cloud API errors)"),
        answer("keyblocked", .forbidden, 403, googleJSON,
            #"{"error":{"code":403,"message":"Requests to this API generativelanguage.googleapis.com method google.ai.generativelanguage.v1beta.ModelService.ListModels are blocked.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_SERVICE_BLOCKED","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com","methodName":"google.ai.generativelanguage.v1beta.ModelService.ListModels","consumer":"projects/123456789012","apiName":"generativelanguage.googleapis.com"}}]}}"#,
            "google.rpc ErrorInfo API_KEY_SERVICE_BLOCKED (Google Cloud API errors)"),
        answer("suspended", .forbidden, 403, googleJSON,
            #"{"error":{"code":403,"message":"Permission denied: Consumer 'api_key:AIzaSyD3xampleKey0000000000000000000000' has been suspended.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"CONSUMER_SUSPENDED","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com","consumer":"projects/123456789012"}}]}}"#,
            "https://github.com/coaidev/coai/issues/67 (message); ErrorInfo reason from reference table"),
        answer("unsupportedlocation", .forbidden, 400, googleJSON,
            #"{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}"#,
            geminiTrouble),
        answer("quotaexhausted", .noCredit, 429, googleJSON,
            #"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 250, model: gemini-2.5-flash","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"250"}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"43s"}]}}"#,
            "https://ai.google.dev/gemini-api/docs/rate-limits; commonly reported QuotaFailure bodies"),
        answer("ratelimited", .rateLimited, 429, googleJSON,
            #"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.5-flash","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"10"}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]}}"#,
            "https://ai.google.dev/gemini-api/docs/rate-limits"),
        answer("creditsdepleted", .noCredit, 429, googleJSON,
            #"{"error":{"code":429,"message":"Your prepayment credits are depleted. Please go to AI Studio at https://ai.studio/projects to manage your project and billing.","status":"RESOURCE_EXHAUSTED"}}"#,
            "https://github.com/JeffOtano/roni/pull/125 (wording from reports)"),
        answer("overloaded", .providerError, 503, googleJSON,
            #"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#,
            geminiTrouble),
    ]
}

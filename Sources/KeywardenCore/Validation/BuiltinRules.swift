/// Per-provider classification rules for the built-in providers.
///
/// Status codes lie, so these rules read the body too: Anthropic reports an
/// empty credit balance as 400 `invalid_request_error`, OpenAI a missing key
/// scope as 401 and an empty account as 429 `insufficient_quota`, Gemini a bad
/// key as 400 `API_KEY_INVALID`, xAI a bad key as 400, Zhipu and Z.ai arrears as
/// 429 with body code 1113, DeepSeek an empty balance as 200 with
/// `is_available: false`, Cohere a bad key as 200 with `valid: false`. Each
/// provider's rules are checked in order before `GenericRules` (the first match
/// wins), so a provider only lists answers that the status alone would
/// misclassify or that deserve a more precise reason and fix.
///
/// Sources: the providers' error references, the official SDKs, and error
/// bodies reported in public issue trackers (cited in `ProviderCases`). Where a
/// body shape is not confirmed by a primary source, a `//` comment says so; such
/// rules match loosely (a substring) so a different wording falls through to
/// the generic status rules rather than to a wrong verdict.
public enum BuiltinRules {
    /// The rules of built-in provider `provider` (case-insensitive); empty for
    /// an unknown name, which leaves the generic status rules.
    public static func rules(for provider: String) -> [OutcomeRule] {
        switch provider.lowercased() {
        case "anthropic": anthropic
        case "openai": openai
        case "azure-openai": azureOpenAI
        case "gemini": gemini
        case "mistral": mistral
        case "groq": groq
        case "deepseek": deepseek
        case "zhipu": zhipu
        case "zai": zai
        case "moonshot": moonshot
        case "dashscope": dashscope
        case "openrouter": openrouter
        case "cohere": cohere
        case "together": together
        case "xai": xai
        case "fireworks": fireworks
        case "perplexity": perplexity
        case "huggingface": huggingface
        default: []
        }
    }

    // MARK: - Anthropic
    // Body: {"type":"error","error":{"type","message"},"request_id"}.
    // https://platform.claude.com/docs/en/api/errors

    static let anthropic: [OutcomeRule] = [
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

    // MARK: - OpenAI
    // Body: {"error":{"message","type","param","code"}}. https://platform.openai.com/docs/guides/error-codes

    static let openai: [OutcomeRule] = [
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

    // MARK: - Azure OpenAI
    // Body: {"error":{"code":"401","message":…}}; errors of the resource gateway, not of the OpenAI service.

    static let azureOpenAI: [OutcomeRule] = [
        // "Access denied due to invalid subscription key or wrong API endpoint. …" — a wrong resource host gives the same 401.
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "Azure OpenAI: invalid key or wrong endpoint (401)",
                    fix: "copy KEY 1 from the resource's \"Keys and Endpoint\" page in the Azure portal, and check the base URL is that resource's https://NAME.openai.azure.com"),
        OutcomeRule(status: [403], bodyContains: ["virtual network/firewall"], outcome: .forbidden,
                    reason: "Azure OpenAI: the resource's network rules refuse this client (403)",
                    fix: "add this network to the resource's firewall or use its private endpoint; the key itself may be fine"),
        OutcomeRule(status: [403], bodyContains: ["temporarily blocked"], outcome: .forbidden,
                    reason: "Azure OpenAI: the resource is blocked (403)",
                    fix: "open a support request in the Azure portal"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "Azure OpenAI: the deployment's rate limit is exceeded (429)",
                    fix: "wait for `retry-after`, or raise the deployment's tokens-per-minute quota in Azure AI Foundry"),
        // A 404 means a wrong api-version, path or resource, never a key verdict.
        OutcomeRule(status: [404], outcome: .unexpected,
                    reason: "Azure OpenAI: resource or path not found (404), so the key was not judged",
                    fix: "check the base URL (`provider set azure-openai --base-url https://NAME.openai.azure.com`)"),
    ]

    // MARK: - Gemini
    // google.rpc body: {"error":{"code","message","status","details":[{"@type":"…ErrorInfo","reason",…}]}}.
    // https://ai.google.dev/gemini-api/docs/troubleshooting

    static let gemini: [OutcomeRule] = [
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

    // MARK: - Mistral
    // 401 bodies vary ({"message":"Unauthorized","request_id"} or {"detail":"Unauthorized"});
    // other errors {"object":"error","message","type","param","code"}.

    static let mistral: [OutcomeRule] = [
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

    // MARK: - Groq
    // Body: {"error":{"message","type","code"}}. https://console.groq.com/docs/errors

    static let groq: [OutcomeRule] = [
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

    // MARK: - DeepSeek
    // https://api-docs.deepseek.com/quick_start/error_codes ; GET /user/balance → {"is_available","balance_infos"}.

    static let deepseek: [OutcomeRule] = [
        OutcomeRule(status: [200], json: [JSONMatch("is_available", equals: "false")], outcome: .noCredit,
                    reason: "DeepSeek: the balance is not enough for API calls (is_available: false)",
                    fix: "top up at https://platform.deepseek.com/top_up"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "DeepSeek: authentication fails, wrong API key (401)",
                    fix: "create a new key at https://platform.deepseek.com/api_keys"),
        OutcomeRule(status: [402], outcome: .noCredit,
                    reason: "DeepSeek: insufficient balance (402)",
                    fix: "top up at https://platform.deepseek.com/top_up"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "DeepSeek: rate limit reached (429)",
                    fix: "slow down and retry"),
        OutcomeRule(status: [503], outcome: .providerError,
                    reason: "DeepSeek: server overloaded (503)",
                    fix: "retry later; check https://status.deepseek.com"),
    ]

    // MARK: - Zhipu / Z.ai
    // Body: {"error":{"code":"1113","message":…}} (code is a string). The HTTP status is coarse (arrears come as
    // 429), so the body code decides. https://docs.bigmodel.cn/cn/api/api-code , https://docs.z.ai/api-reference/api-code

    // Billing page paths are uncertain (both consoles have moved pages before).
    static let zhipu: [OutcomeRule] = glmRules(name: "Zhipu", keys: "https://open.bigmodel.cn/usercenter/apikeys",
                                               billing: "https://open.bigmodel.cn/finance/overview")

    static let zai: [OutcomeRule] = glmRules(name: "Z.ai", keys: "https://z.ai/manage-apikey/apikey-list",
                                             billing: "https://z.ai/manage-apikey/billing")

    static func glmRules(name: String, keys: String, billing: String) -> [OutcomeRule] {
        func code(_ c: String) -> [JSONMatch] { [JSONMatch("error.code", equals: c)] }
        var rules: [OutcomeRule] = []
        let auth: [(String, String)] = [
            ("1000", "authentication failed"), ("1001", "no Authorization header received"),
            ("1002", "invalid token"), ("1003", "token expired"), ("1004", "token verification failed"),
        ]
        for (c, what) in auth {
            rules.append(OutcomeRule(json: code(c), outcome: .invalid,
                                     reason: "\(name): \(what) (code \(c))",
                                     fix: "the key is wrong or expired: create a new one at \(keys)"))
        }
        rules += [
            // Seen in the wild instead of 1000-1004: {"error":{"code":"401","message":"令牌已过期或验证不正确！"}}.
            OutcomeRule(status: [401], outcome: .invalid,
                        reason: "\(name): the key was rejected (401)",
                        fix: "the key is wrong or expired: create a new one at \(keys)"),
            OutcomeRule(json: code("1111"), outcome: .invalid,
                        reason: "\(name): the account does not exist (code 1111)",
                        fix: "create a key in an existing account at \(keys)"),
            OutcomeRule(json: code("1110"), outcome: .forbidden,
                        reason: "\(name): the account is inactive (code 1110)",
                        fix: "check the account's status (real-name verification) in the console"),
            OutcomeRule(json: code("1112"), outcome: .forbidden,
                        reason: "\(name): the account is locked (code 1112)",
                        fix: "contact customer service to unlock the account"),
            OutcomeRule(json: code("1121"), outcome: .forbidden,
                        reason: "\(name): the account is locked for violations (code 1121)",
                        fix: "contact customer service"),
            OutcomeRule(json: code("1113"), outcome: .noCredit,
                        reason: "\(name): account in arrears, no balance or resource package (code 1113)",
                        fix: "recharge the account or buy a resource package at \(billing)"),
            OutcomeRule(json: code("1309"), outcome: .noCredit,
                        reason: "\(name): the GLM Coding Plan has expired (code 1309)",
                        fix: "renew the plan, or use a pay-as-you-go key"),
            // A usage cap that resets hours or days later: not worth retrying now.
            OutcomeRule(json: code("1308"), outcome: .noCredit,
                        reason: "\(name): the plan's usage cap is reached until its reset time (code 1308)",
                        fix: "wait for the reset time in the message, or upgrade the plan"),
            OutcomeRule(json: code("1310"), outcome: .noCredit,
                        reason: "\(name): the weekly or monthly usage cap is reached (code 1310)",
                        fix: "wait for the reset time in the message, or upgrade the plan"),
            OutcomeRule(json: code("1304"), outcome: .noCredit,
                        reason: "\(name): the API's daily call quota is used up (code 1304)",
                        fix: "wait until tomorrow or ask customer service for a higher quota"),
            OutcomeRule(json: code("1220"), outcome: .forbidden,
                        reason: "\(name): the key has no access to this API or model (code 1220)",
                        fix: "check the account's permissions and purchased models in the console"),
            OutcomeRule(json: code("1311"), outcome: .forbidden,
                        reason: "\(name): the subscription plan does not include this model (code 1311)",
                        fix: "upgrade the plan or use a model it includes"),
            OutcomeRule(json: code("1302"), outcome: .rateLimited,
                        reason: "\(name): too many concurrent requests (code 1302)",
                        fix: "lower concurrency and retry"),
            OutcomeRule(json: code("1303"), outcome: .rateLimited,
                        reason: "\(name): requests too frequent (code 1303)",
                        fix: "slow down and retry"),
            OutcomeRule(json: code("1313"), outcome: .rateLimited,
                        reason: "\(name): throttled under the fair-use policy (code 1313)",
                        fix: "reduce usage, or apply to lift the restriction in the Coding Plan overview"),
            OutcomeRule(json: code("1305"), outcome: .providerError,
                        reason: "\(name): the API is overloaded (code 1305)",
                        fix: "retry later"),
            OutcomeRule(json: code("1312"), outcome: .providerError,
                        reason: "\(name): the model is overloaded (code 1312)",
                        fix: "retry later or switch to another model"),
        ]
        return rules
    }

    // MARK: - Moonshot
    // Body: {"error":{"message","type"}}. https://platform.moonshot.ai/docs/api/chat#error-explanation

    static let moonshot: [OutcomeRule] = [
        // "Your account {org}<{ak}> is suspended, please check your plan and billing details"; documented as 429,
        // matched on any status because the type is unambiguous.
        OutcomeRule(json: [JSONMatch("error.type", equals: "exceeded_current_quota_error")], outcome: .noCredit,
                    reason: "Moonshot: account suspended for insufficient balance (exceeded_current_quota_error)",
                    fix: "recharge at https://platform.moonshot.ai/console/pay (keys from platform.moonshot.cn recharge there)"),
        // Kimi's help centre: "A 403 error typically indicates insufficient account balance". Body not confirmed.
        OutcomeRule(status: [403], bodyContains: ["balance"], outcome: .noCredit,
                    reason: "Moonshot: insufficient balance (403)",
                    fix: "recharge at https://platform.moonshot.ai/console/pay"),
        OutcomeRule(status: [429], json: [JSONMatch("error.type", equals: "engine_overloaded_error")], outcome: .providerError,
                    reason: "Moonshot: the engine is overloaded (429 engine_overloaded_error)",
                    fix: "retry later; this is not your rate limit"),
        OutcomeRule(status: [429], outcome: .rateLimited,
                    reason: "Moonshot: rate limit reached (429 rate_limit_reached_error)",
                    fix: "wait the seconds the message gives; recharging raises the tier's limits"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "Moonshot: invalid authentication (401 invalid_authentication_error)",
                    fix: "create a new key at https://platform.moonshot.ai/console/api-keys; keys from platform.moonshot.cn need base URL https://api.moonshot.cn"),
        OutcomeRule(status: [403], outcome: .forbidden,
                    reason: "Moonshot: permission denied (403 permission_denied_error)",
                    fix: "check the key's project and permissions in the console"),
    ]

    // MARK: - DashScope (compatible mode)
    // Body: {"error":{"message","type","param","code"},"request_id"} (native API: {"code","message","request_id"}).
    // https://www.alibabacloud.com/help/en/model-studio/error-code

    static let dashscope: [OutcomeRule] = [
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

    // MARK: - OpenRouter
    // GET /api/v1/key → {"data":{"label","limit","usage","limit_remaining","is_free_tier","limit_reset",…}};
    // errors {"error":{"code":<int>,"message","metadata"}}. https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key

    static let openrouter: [OutcomeRule] = [
        // limit_remaining is null when the key has no limit. Numbers compare as JSON text, hence both spellings.
        OutcomeRule(status: [200], json: [JSONMatch("data.limit_remaining", equals: "0")], outcome: .noCredit,
                    reason: "OpenRouter: the key's credit limit is used up (limit_remaining 0)",
                    fix: "raise the key's limit at https://openrouter.ai/settings/keys"),
        OutcomeRule(status: [200], json: [JSONMatch("data.limit_remaining", equals: "0.0")], outcome: .noCredit,
                    reason: "OpenRouter: the key's credit limit is used up (limit_remaining 0)",
                    fix: "raise the key's limit at https://openrouter.ai/settings/keys"),
        // Overspent keys report a negative remainder; rules cannot compare numbers, so this reads the compact JSON text.
        OutcomeRule(status: [200], bodyContains: ["\"limit_remaining\":-"], outcome: .noCredit,
                    reason: "OpenRouter: the key is over its credit limit (negative limit_remaining)",
                    fix: "raise the key's limit at https://openrouter.ai/settings/keys"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "OpenRouter: the key was rejected (401, e.g. \"User not found.\")",
                    fix: "the key is wrong, deleted or expired: create a new one at https://openrouter.ai/settings/keys"),
        OutcomeRule(status: [402], outcome: .noCredit,
                    reason: "OpenRouter: insufficient credits (402)",
                    fix: "add credits at https://openrouter.ai/settings/credits"),
        // 403 is the moderation refusal of a request's content; it says nothing bad about the key, but the key
        // cannot be shown to work either, so it stays forbidden rather than valid.
        OutcomeRule(status: [403], outcome: .forbidden,
                    reason: "OpenRouter: request refused (403, moderation or key restriction)",
                    fix: "check the metadata in the body; the key may be fine for other requests"),
    ]

    // MARK: - Cohere
    // POST /v1/check-api-key → {"valid","organization_id","owner_id"}; errors {"id","message"}.
    // https://docs.cohere.com/reference/check-api-key

    static let cohere: [OutcomeRule] = [
        OutcomeRule(status: [200], json: [JSONMatch("valid", equals: "false")], outcome: .invalid,
                    reason: "Cohere: check-api-key says the key is not valid (200, valid: false)",
                    fix: "create a new key at https://dashboard.cohere.com/api-keys"),
        OutcomeRule(status: [401, 498], outcome: .invalid,
                    reason: "Cohere: invalid API token (401/498)",
                    fix: "create a new key at https://dashboard.cohere.com/api-keys"),
        // Trial keys: "You are using a Trial key, which is limited to 1000 API calls / month. …"
        OutcomeRule(status: [429], bodyContains: ["/ month"], outcome: .noCredit,
                    reason: "Cohere: the trial key's monthly call allowance is used up (429)",
                    fix: "wait for next month or use a production key (https://dashboard.cohere.com/api-keys)"),
        OutcomeRule(status: [402], outcome: .noCredit,
                    reason: "Cohere: payment required (402)",
                    fix: "check billing at https://dashboard.cohere.com/billing"),
    ]

    // MARK: - Together
    // Body: {"error":{"message","type","param","code"}}. https://docs.together.ai/docs/error-codes

    static let together: [OutcomeRule] = [
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

    // MARK: - xAI
    // Errors {"code":<gRPC status text>,"error":<message>}; GET /v1/api-key → {"redacted_api_key",…,
    // "api_key_blocked","api_key_disabled","team_blocked"}. https://docs.x.ai/docs/api-reference#api-key

    static let xai: [OutcomeRule] = [
        OutcomeRule(status: [400], bodyContains: ["incorrect api key"], outcome: .invalid,
                    reason: "xAI: incorrect API key provided (400)",
                    fix: "create a new key at https://console.x.ai"),
        // "Your team … has either used all available credits or reached its monthly spending limit" (429),
        // "Your newly created team doesn't have any credits yet" (403).
        OutcomeRule(status: [403, 429], bodyContains: ["credits"], outcome: .noCredit,
                    reason: "xAI: the team has no credits left or reached its spending limit",
                    fix: "buy credits or raise the spending limit for the team at https://console.x.ai"),
        OutcomeRule(status: [403, 429], bodyContains: ["spending limit"], outcome: .noCredit,
                    reason: "xAI: the team reached its monthly spending limit",
                    fix: "raise the spending limit at https://console.x.ai"),
        // A 200 from /v1/api-key only says the key exists; these flags say whether it can be used.
        OutcomeRule(status: [200], json: [JSONMatch("api_key_blocked", equals: "true")], outcome: .invalid,
                    reason: "xAI: the key is blocked (api_key_blocked: true)",
                    fix: "create a new key at https://console.x.ai (xAI blocks keys found leaked)"),
        OutcomeRule(status: [200], json: [JSONMatch("api_key_disabled", equals: "true")], outcome: .invalid,
                    reason: "xAI: the key is disabled (api_key_disabled: true)",
                    fix: "re-enable the key or create a new one at https://console.x.ai"),
        OutcomeRule(status: [200], json: [JSONMatch("team_blocked", equals: "true")], outcome: .forbidden,
                    reason: "xAI: the key's team is blocked (team_blocked: true)",
                    fix: "contact xAI support; a new key in the same team will not help"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "xAI: no valid API key was sent (401)",
                    fix: "check the key is set; create one at https://console.x.ai"),
        OutcomeRule(status: [403], outcome: .forbidden,
                    reason: "xAI: the key or team lacks permission (403)",
                    fix: "check the key's ACLs and the team's permissions at https://console.x.ai"),
    ]

    // MARK: - Fireworks
    // Body: {"error":{"object":"error","type","code","message"}}.

    static let fireworks: [OutcomeRule] = [
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

    // MARK: - Perplexity
    // Perplexity's FAQ: a 401 means an invalid or deleted key, or an account out of API credits.

    static let perplexity: [OutcomeRule] = [
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

    // MARK: - Hugging Face
    // Errors {"error": <message>}.

    static let huggingface: [OutcomeRule] = [
        // "You have exceeded your monthly included credits for Inference Providers. …" (402)
        OutcomeRule(bodyContains: ["exceeded your monthly included credits"], outcome: .noCredit,
                    reason: "Hugging Face: the monthly included Inference Providers credits are used up",
                    fix: "add pre-paid credits or subscribe to PRO at https://huggingface.co/settings/billing"),
        OutcomeRule(status: [402], outcome: .noCredit,
                    reason: "Hugging Face: payment required (402)",
                    fix: "check billing at https://huggingface.co/settings/billing"),
        OutcomeRule(status: [401], outcome: .invalid,
                    reason: "Hugging Face: invalid credentials (401)",
                    fix: "the token is wrong or revoked: create a new one at https://huggingface.co/settings/tokens"),
    ]
}

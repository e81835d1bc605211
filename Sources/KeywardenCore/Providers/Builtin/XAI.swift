extension BuiltinProvider {
    /// xAI (Grok). Probe: `GET /v1/api-key`, which also says whether the key or its team is blocked.
    static let xai = BuiltinProvider(definition: xaiDefinition, rules: xaiRules, answers: xaiAnswers)

    private static let xaiDefinition = ProviderDefinition(
        name: "xai",
        displayName: "xAI (Grok)",
        baseURL: "https://api.x.ai",
        auth: .bearer,
        env: "XAI_API_KEY",
        keyFormat: KeyFormat(
            pattern: #"xai-[A-Za-z0-9_-]{40,120}"#,
            prefixes: ["xai-"],
            description: "xai- followed by 80 letters, digits and underscores"
        ),
        probe: Probe(method: "GET", path: "/v1/api-key"),
        consoleURL: "https://console.x.ai",
        sdkBasePath: "/v1"
    )

    // MARK: Rules
    // Errors {"code":<gRPC status text>,"error":<message>}; GET /v1/api-key → {"redacted_api_key",…,
    // "api_key_blocked","api_key_disabled","team_blocked"}. https://docs.x.ai/docs/api-reference#api-key

    private static let xaiRules: [OutcomeRule] = [
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

    // MARK: Documented answers

    private static let xaiKey = "https://docs.x.ai/docs/api-reference#api-key"
    private static func xaiInfo(blocked: Bool = false, disabled: Bool = false, team: Bool = false) -> String {
        #"{"redacted_api_key":"xai-...b14o","user_id":"59fbe5f2-040b-46d5-8325-868bb8f23eb2","name":"keywarden","create_time":"2025-01-01T12:55:18.139305Z","modify_time":"2025-08-28T17:20:12.343321Z","modified_by":"3d38b4dc-4eb7-4785-ae26-c3fa8997ffc7","team_id":"5ea6f6bd-7815-4b8a-9135-28b2d7ba6722","acls":["api-key:model:*","api-key:endpoint:*"],"api_key_id":"ae1e1841-4326-4b36-a8a9-8a1a7237db11","team_blocked":"#
            + (team ? "true" : "false") + #","api_key_blocked":"# + (blocked ? "true" : "false")
            + #","api_key_disabled":"# + (disabled ? "true" : "false") + "}"
    }

    private static let xaiAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, [json], xaiInfo(), xaiKey),
        answer("invalid", .invalid, 400, [json],
            #"{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***4o. You can obtain an API key from https://console.x.ai."}"#,
            "reference table (400 \"Incorrect API key provided\")"),
        answer("missingkey", .invalid, 401, [json],
            #"{"code":"The request does not have valid authentication credentials","error":"No API key provided. Please provide an API key in the Authorization header."}"#,
            "reference table (401 when missing; wording unconfirmed)"),
        answer("nocredit", .noCredit, 429, [json],
            #"{"code":"Some resource has been exhausted","error":"Your team 5ea6f6bd-7815-4b8a-9135-28b2d7ba6722 has either used all available credits or reached its monthly spending limit. To continue making API requests, please purchase more credits or raise your spending limit."}"#,
            "https://github.com/continuedev/continue/issues/10373"),
        answer("nocreditsyet", .noCredit, 403, [json],
            #"{"code":"The caller does not have permission to execute the specified operation","error":"Your newly created team doesn't have any credits yet. You can purchase credits on https://console.x.ai/team/5ea6f6bd-7815-4b8a-9135-28b2d7ba6722."}"#,
            "https://github.com/griptape-ai/griptape-nodes-engine/issues/1079"),
        answer("blocked", .invalid, 200, [json], xaiInfo(blocked: true), xaiKey + " (api_key_blocked)"),
        answer("disabled", .invalid, 200, [json], xaiInfo(disabled: true), xaiKey + " (api_key_disabled)"),
        answer("teamblocked", .forbidden, 200, [json], xaiInfo(team: true), xaiKey + " (team_blocked)"),
        answer("ratelimited", .rateLimited, 429, [json, ("retry-after", "1")],
            #"{"code":"Some resource has been exhausted","error":"Too many requests: you have exceeded the rate limit of 480 requests per minute for this model."}"#,
            "reference table (429; wording unconfirmed)"),
        answer("forbidden", .forbidden, 403, [json],
            #"{"code":"The caller does not have permission to execute the specified operation","error":"The API key does not have permission to access this endpoint."}"#,
            "https://docs.x.ai/docs/key-information/debugging-errors (403; wording unconfirmed)"),
    ]
}

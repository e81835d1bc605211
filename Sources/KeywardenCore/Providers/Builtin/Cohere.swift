extension BuiltinProvider {
    /// Cohere. Probe: `POST /v1/check-api-key`, which answers 200 with `valid` true or false.
    static let cohere = BuiltinProvider(definition: cohereDefinition, rules: cohereRules, answers: cohereAnswers)

    // Key format (40 letters and digits, no prefix) from TruffleHog, not
    // documented by Cohere.
    private static let cohereDefinition = ProviderDefinition(
        name: "cohere",
        displayName: "Cohere",
        baseURL: "https://api.cohere.com",
        auth: .bearer,
        env: "COHERE_API_KEY",
        alternateEnv: ["CO_API_KEY"],
        keyFormat: KeyFormat(
            pattern: #"[A-Za-z0-9]{30,50}"#,
            prefixes: [],
            description: "40 letters and digits, no prefix"
        ),
        probe: Probe(method: "POST", path: "/v1/check-api-key", body: "{}"),
        consoleURL: "https://dashboard.cohere.com/api-keys"
    )

    // MARK: Rules
    // POST /v1/check-api-key → {"valid","organization_id","owner_id"}; errors {"id","message"}.
    // https://docs.cohere.com/reference/check-api-key

    private static let cohereRules: [OutcomeRule] = [
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

    // MARK: Documented answers

    private static let cohereCheck = "https://docs.cohere.com/reference/check-api-key"

    private static let cohereAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, [json, ("x-trial-endpoint-call-limit", "40"), ("x-trial-endpoint-call-remaining", "39")],
            #"{"valid":true,"organization_id":"9c2e4f6a-8b1d-4e3f-a5c7-0d2e4f6a8b1c","owner_id":"4a6c8e0b-2d4f-4a6c-8e0b-2d4f6a8c0e2b"}"#,
            cohereCheck),
        answer("invalid", .invalid, 200, [json],
            #"{"valid":false}"#,
            cohereCheck + " (valid: false)"),
        answer("unauthorized", .invalid, 401, [json],
            #"{"id":"5f7a9c1e-3b5d-4f7a-9c1e-3b5d7f9a1c3e","message":"invalid api token"}"#,
            cohereCheck + " (401)"),
        answer("invalidtoken", .invalid, 498, [json],
            #"{"id":"6a8b0d2f-4c6e-4a8b-0d2f-4c6e8a0b2d4f","message":"invalid api token"}"#,
            cohereCheck + " (498 Invalid Token)"),
        answer("trialexhausted", .noCredit, 429, [json],
            #"{"id":"7b9c1e3a-5d7f-4b9c-1e3a-5d7f9b1c3e5a","message":"You are using a Trial key, which is limited to 1000 API calls / month. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'. Contact us on 'https://discord.gg/XW44jPfYJu' or email us at support@cohere.com with any questions"}"#,
            "commonly reported Cohere trial-key 429"),
        answer("ratelimited", .rateLimited, 429, [json, ("retry-after", "1")],
            #"{"id":"8c0d2f4b-6e8a-4c0d-2f4b-6e8a0c2d4f6b","message":"You are using a Trial key, which is limited to 20 API calls / minute. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'."}"#,
            "commonly reported Cohere trial-key 429"),
        answer("nocredit", .noCredit, 402, [json],
            #"{"id":"9d1e3a5c-7f9b-4d1e-3a5c-7f9b1d3e5a7c","message":"Please add a payment method to continue using the API: https://dashboard.cohere.com/billing"}"#,
            "reference table (402; wording unconfirmed)"),
    ]
}

extension BuiltinProvider {
    /// Hugging Face. Probe: `GET /api/whoami-v2`.
    static let huggingface = BuiltinProvider(definition: huggingfaceDefinition, rules: huggingfaceRules, answers: huggingfaceAnswers)

    private static let huggingfaceDefinition = ProviderDefinition(
        name: "huggingface",
        displayName: "Hugging Face",
        baseURL: "https://huggingface.co",
        auth: .bearer,
        env: "HF_TOKEN",
        alternateEnv: ["HUGGING_FACE_HUB_TOKEN", "HUGGINGFACEHUB_API_TOKEN"],
        keyFormat: KeyFormat(
            pattern: #"hf_[A-Za-z0-9]{30,40}"#,
            prefixes: ["hf_"],
            description: "hf_ followed by 34 letters"
        ),
        probe: Probe(method: "GET", path: "/api/whoami-v2"),
        consoleURL: "https://huggingface.co/settings/tokens"
    )

    // MARK: Rules
    // Errors {"error": <message>}.

    private static let huggingfaceRules: [OutcomeRule] = [
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

    // MARK: Documented answers

    private static let huggingfaceAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, [json, ("x-request-id", "Root=1-6842a1f3-4b2c7d9e0f1a3b5c7d9e1f3a")],
            #"{"type":"user","id":"6421b3c0d2f1a8e3b7c9d012","name":"alice","fullname":"Alice Example","email":"alice@example.com","emailVerified":true,"canPay":false,"periodEnd":null,"isPro":false,"avatarUrl":"/avatars/8f1e2d3c4b5a69788796a5b4c3d2e1f0.svg","orgs":[],"auth":{"type":"access_token","accessToken":{"displayName":"keywarden","role":"read","createdAt":"2025-03-01T10:00:00.000Z"}}}"#,
            "https://huggingface.co/docs/hub/api (whoami-v2)"),
        answer("invalid", .invalid, 401, [json, ("x-error-message", "Invalid credentials in Authorization header")],
            #"{"error":"Invalid credentials in Authorization header"}"#,
            "huggingface_hub (whoami errors)"),
        answer("nocredit", .noCredit, 402, [json],
            #"{"error":"You have exceeded your monthly included credits for Inference Providers. Subscribe to PRO to get 20x more monthly included credits."}"#,
            "reference table (\"exceeded monthly included credits\")"),
        answer("ratelimited", .rateLimited, 429, [json, ("retry-after", "1"), ("ratelimit", "\"api\";r=0;t=1"), ("ratelimit-policy", "\"fixed window\";\"api\";q=500;w=300")],
            #"{"error":"You have exceeded our hourly quotas for action: api. Please retry later."}"#,
            "https://huggingface.co/docs/hub/rate-limits (wording unconfirmed)"),
    ]
}

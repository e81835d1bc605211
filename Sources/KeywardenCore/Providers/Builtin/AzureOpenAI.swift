extension BuiltinProvider {
    /// Azure OpenAI, one resource per user (the base URL is a placeholder). Probe: `GET /openai/models`.
    static let azureOpenAI = BuiltinProvider(definition: azureOpenAIDefinition, rules: azureOpenAIRules, answers: azureOpenAIAnswers)

    // The host is a placeholder: every resource has its own
    // (`provider set azure-openai --base-url https://NAME.openai.azure.com`).
    // Key format uncertain: classic keys are 32 hex digits, newer resources
    // issue 84-character alphanumeric keys, hence the wide range.
    private static let azureOpenAIDefinition = ProviderDefinition(
        name: "azure-openai",
        displayName: "Azure OpenAI",
        baseURL: "https://YOUR-RESOURCE.openai.azure.com",
        auth: .header("api-key"),
        env: "AZURE_OPENAI_API_KEY",
        alternateEnv: ["AZURE_OPENAI_KEY", "AZURE_API_KEY"],
        keyFormat: KeyFormat(
            pattern: #"[A-Za-z0-9]{32,100}"#,
            prefixes: [],
            description: "32 hexadecimal characters, or 84 letters and digits on newer resources"
        ),
        probe: Probe(method: "GET", path: "/openai/models?api-version=2024-10-21"),
        consoleURL: "https://portal.azure.com/#view/Microsoft_Azure_ProjectOxford/CognitiveServicesHub/~/OpenAI",
        sdkBaseURLEnv: "AZURE_OPENAI_ENDPOINT"
    )

    // MARK: Rules
    // Body: {"error":{"code":"401","message":…}}; errors of the resource gateway, not of the OpenAI service.

    private static let azureOpenAIRules: [OutcomeRule] = [
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

    // MARK: Documented answers

    private static func azureHeaders(_ id: String) -> [(String, String)] {
        [json, ("apim-request-id", id), ("x-ms-region", "East US")]
    }

    private static let azureOpenAIAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, azureHeaders("6b1e4c2a-9f3d-4d7b-8a2e-5c0f1b3d7e91"),
            #"{"data":[{"status":"succeeded","capabilities":{"fine_tune":false,"inference":true,"completion":false,"chat_completion":true,"embeddings":false},"lifecycle_status":"generally-available","deprecation":{"inference":1767225600},"id":"gpt-4o-2024-08-06","created_at":1722902400,"object":"model"}],"object":"list"}"#,
            "https://learn.microsoft.com/azure/ai-services/openai/reference (Models - List)"),
        answer("invalid", .invalid, 401, azureHeaders("0d2f7a1c-3e5b-4c8d-9f1a-2b4c6d8e0f13"),
            #"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#,
            "reference table; Azure AI services error reference"),
        answer("ratelimited", .rateLimited, 429, azureHeaders("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d") + [("retry-after", "1"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-remaining-tokens", "0")],
            #"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}"#,
            "reference table (\"retry after N seconds\")"),
        answer("firewall", .forbidden, 403, azureHeaders("2c4e6a8b-0d1f-4e3a-9b5c-7d9f1b3d5f70"),
            #"{"error":{"code":"403","message":"Access denied due to Virtual Network/Firewall rules."}}"#,
            "Azure AI services virtual networks docs (message)"),
        answer("notfound", .unexpected, 404, azureHeaders("3d5f7b9c-1e2a-4f4b-8c6d-8e0a2c4e6a81"),
            #"{"error":{"code":"404","message":"Resource not found"}}"#,
            "Azure OpenAI wrong api-version or path (commonly reported)"),
    ]
}

extension BuiltinProvider {
    /// Z.ai (GLM, international). Probe: `GET /api/paas/v4/models`.
    static let zai = BuiltinProvider(definition: zaiDefinition, rules: zaiRules, answers: zaiAnswers)

    // Same platform as zhipu, international endpoint; keys are not
    // interchangeable. Probe and key format uncertain as for zhipu.
    private static let zaiDefinition = ProviderDefinition(
        name: "zai",
        displayName: "Z.ai (GLM, international)",
        baseURL: "https://api.z.ai/api/paas/v4",
        auth: .bearer,
        env: "ZAI_API_KEY",
        keyFormat: BuiltinRules.glmKeyFormat,
        probe: Probe(method: "GET", path: "/models"),
        consoleURL: "https://z.ai/manage-apikey/apikey-list",
        sdkBasePath: "/api/paas/v4"
    )

    // MARK: Rules
    // One platform with Zhipu, so the rules are `BuiltinRules.glmPlatform`'s with this endpoint's console
    // pages. The billing page path is uncertain (the console has moved pages before).
    private static let zaiRules = BuiltinRules.glmPlatform(
        name: "Z.ai", keys: "https://z.ai/manage-apikey/apikey-list", billing: "https://z.ai/manage-apikey/billing")

    // MARK: Documented answers

    private static let zaiCodes = "https://docs.z.ai/api-reference/api-code"

    private static let zaiAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, [json],
            #"{"object":"list","data":[{"id":"glm-4.6","object":"model","created":1759190400,"owned_by":"z-ai"},{"id":"glm-4.5-air","object":"model","created":1753632000,"owned_by":"z-ai"}]}"#,
            "probe unconfirmed (OpenAI-compatible list shape)"),
        answer("invalid", .invalid, 401, [json],
            #"{"error":{"code":"1000","message":"Authentication Failed"}}"#,
            zaiCodes + " (code 1000; English wording unconfirmed)"),
        answer("arrears", .noCredit, 429, [json],
            #"{"error":{"code":"1113","message":"Insufficient balance or no resource package. Please recharge."}}"#,
            zaiCodes),
        answer("noaccess", .forbidden, 400, [json],
            #"{"error":{"code":"1220","message":"You do not have permission to access glm-4.6"}}"#,
            zaiCodes + " (status unconfirmed)"),
        answer("ratelimited", .rateLimited, 429, [json],
            #"{"error":{"code":"1302","message":"High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits"}}"#,
            zaiCodes),
        answer("overloaded", .providerError, 429, [json],
            #"{"error":{"code":"1312","message":"Due to high load on this model, please try again later or switch to other models such as glm-4.5-air."}}"#,
            zaiCodes),
        answer("planexpired", .noCredit, 429, [json],
            #"{"error":{"code":"1309","message":"Your GLM Coding Plan package has expired and is temporarily unavailable. Renew it to resume service."}}"#,
            zaiCodes),
        answer("usagelimit", .noCredit, 429, [json],
            #"{"error":{"code":"1308","message":"Usage limit reached for 5 hour. Your limit will reset at 2025-10-12 18:00:00"}}"#,
            zaiCodes),
    ]
}

extension BuiltinProvider {
    /// Zhipu AI (GLM, China). Probe: `GET /api/paas/v4/models`.
    static let zhipu = BuiltinProvider(definition: zhipuDefinition, rules: zhipuRules, answers: zhipuAnswers)

    // Probe uncertain: GET /models is used by many clients and answers 401
    // without a key, but Zhipu's reference does not document it. Key format
    // (32 hex, a dot, 16 letters and digits) is observed, not documented.
    // Console path uncertain (the site has moved pages before).
    private static let zhipuDefinition = ProviderDefinition(
        name: "zhipu",
        displayName: "Zhipu AI (GLM, China)",
        baseURL: "https://open.bigmodel.cn/api/paas/v4",
        auth: .bearer,
        env: "ZHIPUAI_API_KEY",
        alternateEnv: ["ZHIPU_API_KEY"],
        keyFormat: BuiltinRules.glmKeyFormat,
        probe: Probe(method: "GET", path: "/models"),
        consoleURL: "https://open.bigmodel.cn/usercenter/apikeys",
        sdkBaseURLEnv: "ZHIPUAI_BASE_URL",
        sdkBasePath: "/api/paas/v4"
    )

    // MARK: Rules
    // One platform with Z.ai, so the rules are `BuiltinRules.glmPlatform`'s with this endpoint's console
    // pages. The billing page path is uncertain (the console has moved pages before).
    private static let zhipuRules = BuiltinRules.glmPlatform(
        name: "Zhipu", keys: "https://open.bigmodel.cn/usercenter/apikeys", billing: "https://open.bigmodel.cn/finance/overview")

    // MARK: Documented answers

    private static let zhipuCodes = "https://docs.bigmodel.cn/cn/api/api-code"

    private static let zhipuAnswers: [DocumentedAnswer] = [
        answer("valid", .valid, 200, [json],
            #"{"object":"list","data":[{"id":"glm-4.5","object":"model","created":1753632000,"owned_by":"z-ai"},{"id":"glm-4-flash","object":"model","created":1722470400,"owned_by":"z-ai"}]}"#,
            "probe unconfirmed (OpenAI-compatible list shape)"),
        answer("invalid", .invalid, 401, [json],
            #"{"error":{"code":"401","message":"令牌已过期或验证不正确！"}}"#,
            "https://github.com/zhipuai/zhipuai-sdk-python/issues/25"),
        answer("expired", .invalid, 401, [json],
            #"{"error":{"code":"1003","message":"Authorization Token已过期，请重新生成/获取。"}}"#,
            "https://github.com/MetaGLM/zhipuai-sdk-python-v4/issues/8"),
        answer("arrears", .noCredit, 429, [json],
            #"{"error":{"code":"1113","message":"您的账户已欠费，请充值后重试。"}}"#,
            zhipuCodes),
        answer("locked", .forbidden, 429, [json],
            #"{"error":{"code":"1112","message":"您的账户已被锁定，请联系客服解锁。"}}"#,
            zhipuCodes),
        answer("noaccess", .forbidden, 400, [json],
            #"{"error":{"code":"1220","message":"您无权访问glm-4-plus。"}}"#,
            zhipuCodes + " (status unconfirmed)"),
        answer("ratelimited", .rateLimited, 429, [json],
            #"{"error":{"code":"1302","message":"您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。"}}"#,
            zhipuCodes),
        answer("frequency", .rateLimited, 429, [json],
            #"{"error":{"code":"1303","message":"您当前使用该API的频率过高，请降低频率，或联系客服增加限额。"}}"#,
            zhipuCodes),
        answer("dailylimit", .noCredit, 429, [json],
            #"{"error":{"code":"1304","message":"该API已达今日调用次数限额，如有更多需求，请联系客服购买。"}}"#,
            zhipuCodes),
        answer("busy", .providerError, 429, [json],
            #"{"error":{"code":"1305","message":"该API已触发流量限制。"}}"#,
            zhipuCodes),
        answer("overloaded", .providerError, 429, [json],
            #"{"error":{"code":"1312","message":"该模型当前访问量过大，请您稍后再试，或切换其他模型如 glm-4-flash 等。"}}"#,
            zhipuCodes),
    ]
}

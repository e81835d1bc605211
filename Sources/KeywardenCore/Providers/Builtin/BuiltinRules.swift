/// How the built-in providers' probe answers are read, and what their files
/// share: the GLM platform's rules and key format (Zhipu and Z.ai).
///
/// Status codes lie, so the rules read the body too: Anthropic reports an
/// empty credit balance as 400 `invalid_request_error`, OpenAI a missing key
/// scope as 401 and an empty account as 429 `insufficient_quota`, Gemini a bad
/// key as 400 `API_KEY_INVALID`, xAI a bad key as 400, Zhipu and Z.ai arrears as
/// 429 with body code 1113, DeepSeek an empty balance as 200 with
/// `is_available: false`, Cohere a bad key as 200 with `valid: false`. Each
/// provider's rules live in its own file in this folder (`BuiltinProvider.rules`)
/// and are checked in order before `GenericRules` (the first match wins), so a
/// provider only lists answers that the status alone would misclassify or that
/// deserve a more precise reason and fix.
///
/// Sources: the providers' error references, the official SDKs, and error
/// bodies reported in public issue trackers (cited in each provider's
/// documented answers). Where a body shape is not confirmed by a primary
/// source, a `//` comment says so; such rules match loosely (a substring) so a
/// different wording falls through to the generic status rules rather than to
/// a wrong verdict.
public enum BuiltinRules {
    /// The rules of built-in provider `provider` (case-insensitive); empty for
    /// an unknown name, which leaves the generic status rules.
    public static func rules(for provider: String) -> [OutcomeRule] {
        BuiltinProviders.provider(named: provider)?.rules ?? []
    }

    // MARK: - Zhipu and Z.ai: one platform (GLM), two endpoints
    // Body: {"error":{"code":"1113","message":…}} (code is a string). The HTTP status is coarse (arrears come as
    // 429), so the body code decides. https://docs.bigmodel.cn/cn/api/api-code , https://docs.z.ai/api-reference/api-code

    /// The GLM platform's key format, the same at both endpoints (observed, not
    /// documented); the keys themselves are not interchangeable.
    static let glmKeyFormat = KeyFormat(
        pattern: #"[0-9A-Fa-f]{32}\.[A-Za-z0-9]{8,32}"#,
        prefixes: [],
        description: "32 hexadecimal characters, a dot, then 16 letters and digits (49 in all)"
    )

    /// The GLM platform's rules, worded for the endpoint `name` with its key and billing pages.
    static func glmPlatform(name: String, keys: String, billing: String) -> [OutcomeRule] {
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
}

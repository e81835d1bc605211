/// Rules every user-defined provider gets after its own and before the
/// generic status rules. Most user-defined providers are OpenAI-compatible
/// relays (one-api, new-api and their forks) or internal gateways, whose
/// error bodies are OpenAI-shaped (`{"error":{"message","type","code"}}`),
/// often in Chinese, with statuses that mislead:
///
/// - exhausted user quota is a 403 `insufficient_user_quota` ("user quota is
///   not enough", "用户额度不足"): a credit problem (`no_credit`), not a
///   permission problem;
/// - no upstream channel for a model is a 503 ("当前分组 default 下对于模型
///   gpt-4o 无可用渠道", "no available channel"): the relay has nothing to
///   route to, which is not the key's fault (`provider_error`);
/// - an invalid relay token is a 401 ("无效的令牌"): `invalid`, as the
///   generic rule says.
///
/// Beyond relays, a 4xx whose error code, type or message speaks of credit,
/// quota or balance is `no_credit` whatever its status (OpenAI's
/// `insufficient_quota` comes as 429, Anthropic's empty balance as 400).
/// A 429 that speaks of a rate or a per-minute window stays `rate_limited`.
/// Only the error's `code`, `type` and `message` are read, not the whole body.
public enum CustomProviderRules {
    /// Where an OpenAI-shaped (or flat) error body keeps its code, type and message.
    static let codeFields = ["error.code", "error.type", "code", "type"]
    static let messageFields = ["error.message", "message", "error"]

    static let creditFix = "top up the account (for a relay: your quota on it, or ask its admin), or raise its spending limit"
    static let channelFix = "the relay has no upstream for this model: ask its admin to enable a channel for the model in your group, or use another model"

    public static let all: [OutcomeRule] = {
        var rules: [OutcomeRule] = []
        func any(_ fields: [String], contains word: String, status: [Int] = [], outcome: ValidationOutcome, reason: String, fix: String?) {
            for field in fields {
                rules.append(OutcomeRule(status: status, json: [JSONMatch(field, contains: word)], outcome: outcome, reason: reason, fix: fix))
            }
        }
        let clientErrors = Array(400...499)
        // Relays' own codes first: they are exact.
        any(codeFields, contains: "insufficient_user_quota", outcome: .noCredit,
            reason: "the relay says your quota is used up (insufficient_user_quota)", fix: creditFix)
        any(codeFields, contains: "insufficient_quota", outcome: .noCredit,
            reason: "the account is out of credit (insufficient_quota)", fix: creditFix)
        for words in ["无可用渠道", "no available channel"] {
            any(messageFields, contains: words, outcome: .providerError,
                reason: "the relay has no available channel for the model (\(words)); not the key's fault", fix: channelFix)
        }
        // A rate limit worded with "quota" ("Quota exceeded … per minute") is still a rate limit.
        for words in ["rate limit", "per minute", "too many requests", "请求过于频繁"] {
            any(messageFields, contains: words, status: [429], outcome: .rateLimited, reason: "rate limited (429: \(words))",
                fix: "wait, or lower the request rate")
        }
        // Credit, quota and balance wording in the code, type or message of a 4xx.
        for words in ["quota", "balance", "credit", "billing", "arrear", "余额", "额度", "欠费"] {
            any(codeFields + messageFields, contains: words, status: clientErrors, outcome: .noCredit,
                reason: "the answer speaks of credit (\"\(words)\" in the error): the account or its quota is used up", fix: creditFix)
        }
        return rules
    }()
}

import KeywardenCrypto

/// Recognises which provider a value in an existing `.env` belongs to: by the
/// variable's name (`ANTHROPIC_API_KEY`, `CLAUDE_API_KEY`) or by the value's
/// format (`sk-ant-…`, `AIza…`, `gsk_…`). Formats whose only prefix is a bare
/// `sk-` (OpenAI legacy, DeepSeek, Moonshot, DashScope) are ambiguous and need
/// the name.
public enum ProviderRecognizer {
    /// The provider a variable name belongs to, exactly (`env` or `alternateEnv`).
    public static func provider(forVariable name: String, in providers: [ProviderDefinition]) -> ProviderDefinition? {
        providers.first { $0.env == name || $0.alternateEnv.contains(name) }
    }

    /// The single provider whose most specific matching prefix is longest and
    /// distinctive, with the value matching that provider's whole pattern.
    public static func provider(forValue value: SecureBytes, in providers: [ProviderDefinition]) -> ProviderDefinition? {
        let bytes = value.copyBytes()
        defer { var copy = bytes; wipe(&copy) }
        var best: (length: Int, providers: [ProviderDefinition]) = (0, [])
        for provider in providers {
            guard let format = provider.keyFormat,
                  let prefix = format.prefixes.filter({ bytes.starts(with: Array($0.utf8)) }).max(by: { $0.count < $1.count }),
                  Vault.matches(value, format)
            else { continue }
            if prefix.count > best.length {
                best = (prefix.count, [provider])
            } else if prefix.count == best.length {
                best.providers.append(provider)
            }
        }
        guard best.providers.count == 1, best.length > 3 else { return nil }
        return best.providers[0]
    }

    /// A looser name match: the variable mentions the provider (`MY_OPENAI_KEY`)
    /// and the value has that provider's format.
    public static func provider(mentionedBy name: String, value: SecureBytes, in providers: [ProviderDefinition]) -> ProviderDefinition? {
        let upper = name.uppercased()
        return providers.first { provider in
            guard let format = provider.keyFormat else { return false }
            let token = provider.name.uppercased().replacingOccurrences(of: "-", with: "_")
            return upper.contains(token) && Vault.matches(value, format)
        }
    }
}

/// Whether a config value is clearly not a secret: URLs without credentials,
/// numbers, booleans, model names. Everything else is imported as secret.
public enum SecretHeuristics {
    static let secretWords = ["SECRET", "PASSWORD", "PASSWD", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE", "AUTH", "SIGNATURE", "SALT", "DSN"]
    static let modelPrefixes = ["claude-", "gpt-", "o1", "o3", "o4", "gemini-", "glm-", "deepseek-", "moonshot-", "kimi-", "qwen", "mistral-",
                                "codestral", "llama", "grok-", "command-", "mixtral", "text-embedding-", "sonar", "anthropic/", "openai/", "google/", "meta-llama/"]

    public static func isClearlyPlain(name: String, value: [UInt8]) -> Bool {
        if value.isEmpty { return true }
        guard let text = String(validating: value, as: UTF8.self) else { return false }
        let upperName = name.uppercased()
        let nameSaysSecret = secretWords.contains { word in
            upperName.split(separator: "_").contains { $0 == word || $0.hasSuffix(word) && word.count >= 5 }
        }
        if nameSaysSecret { return false }
        if text.count > 200 || text.contains(where: { $0.isWhitespace && $0 != " " }) { return false }
        // A URL is judged as a URL only: the model-name shortcuts below must
        // not make `MODEL_URL=https://u:p@host` plain.
        if text.contains("://") { return isPlainURL(text) }
        if Double(text) != nil || Int(text) != nil { return true }
        if ["true", "false", "yes", "no", "on", "off", "debug", "info", "warning", "error", "development", "production", "staging", "test"].contains(text.lowercased()) { return true }
        if upperName.contains("MODEL") && !text.contains(" ") && !text.contains("@") { return true }
        if modelPrefixes.contains(where: { text.lowercased().hasPrefix($0) }) && !text.contains(" ") && !text.contains("@") && text.count < 80 { return true }
        return false
    }

    /// Hosts whose URLs carry their credential in the path (incoming webhooks,
    /// bot tokens): the URL is the secret.
    static let credentialInPathHosts = ["hooks.slack.com", "hooks.zapier.com", "api.telegram.org", "maker.ifttt.com", "webhook.office.com", "outlook.office.com"]

    /// A URL is plain only without userinfo (`user:pass@`), without a query or
    /// fragment (`?token=…`, `#access_token=…`), and without a credential in
    /// its path: a webhook host, a `webhooks`/`hooks` path, or a segment that
    /// looks like a token.
    static func isPlainURL(_ text: String) -> Bool {
        guard let schemeEnd = text.range(of: "://") else { return false }
        let scheme = text[..<schemeEnd.lowerBound]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0 == "+" }) else { return false }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@"), !text.contains("?"), !text.contains("#"), !text.contains(" ") else { return false }
        let host = authority.split(separator: ":").first.map { $0.lowercased() } ?? ""
        if credentialInPathHosts.contains(where: { host == $0 || host.hasSuffix("." + $0) }) { return false }
        let segments = rest.dropFirst(authority.count).split(separator: "/")
        if segments.contains(where: { ["webhooks", "webhook", "hooks"].contains($0.lowercased()) }) { return false }
        return !segments.contains(where: looksLikeToken)
    }

    /// A path segment that is probably a credential: long, from a token's
    /// alphabet, mixing letters and digits (`T00000000/B00000000/XXXXXXXX…`,
    /// `bot123456:AAH…`), or very long whatever it holds.
    static func looksLikeToken(_ segment: Substring) -> Bool {
        let tokenAlphabet = segment.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.~=+:".contains($0)) }
        guard tokenAlphabet else { return segment.count >= 32 }
        if segment.count >= 32 { return true }
        return segment.count >= 16 && segment.contains(where: \.isNumber) && segment.contains(where: \.isLetter)
    }
}

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
        if isPlainURL(text) { return true }
        if Double(text) != nil || Int(text) != nil { return true }
        if ["true", "false", "yes", "no", "on", "off", "debug", "info", "warning", "error", "development", "production", "staging", "test"].contains(text.lowercased()) { return true }
        if upperName.contains("MODEL") && !text.contains(" ") { return true }
        if modelPrefixes.contains(where: { text.lowercased().hasPrefix($0) }) && !text.contains(" ") && text.count < 80 { return true }
        return false
    }

    static func isPlainURL(_ text: String) -> Bool {
        guard let schemeEnd = text.range(of: "://") else { return false }
        let scheme = text[..<schemeEnd.lowerBound]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0 == "+" }) else { return false }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        // user:password@host or ?key=… can carry a credential.
        return !authority.contains("@") && !text.contains("?") && !text.contains(" ")
    }
}

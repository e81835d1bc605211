/// The providers Keywarden knows out of the box: the one list of them, and
/// lookups by name.
///
/// Each provider is one file in this folder holding its definition, its
/// classification rules and its documented answers (`BuiltinProvider`).
/// Each definition says where the provider's API lives (`baseURL`, no trailing
/// slash), how a key is sent (`auth`, plus any `headers` every request
/// needs), which environment variable programs read the key from (`env`, with
/// other names seen in the wild in `alternateEnv`), what a key looks like
/// (`keyFormat`), the cheapest request that proves a key works without spending
/// tokens (`probe`; the probe URL is `baseURL + probe.path`), and where the user
/// manages keys (`consoleURL`).
///
/// Key patterns are deliberately lenient: they match the whole key (any
/// alternation is grouped, so wrapping a pattern in `^…$` is safe), allow
/// length ranges rather than exact counts, and exist to warn about obvious
/// mistakes (a truncated paste, a key for the wrong provider), never to reject a
/// key the provider would accept. Where the format is unknown, `keyFormat` is nil
/// or checks little more than a prefix.
/// Several providers share the `sk-` prefix (OpenAI's legacy keys, DeepSeek,
/// Moonshot, DashScope) and Zhipu and Z.ai share one format; `import` tells them
/// apart by variable name, not by the key.
///
/// Sources: the providers' API references, the official SDKs, TruffleHog's
/// detectors and gitleaks' rules. Definitions whose data is not confirmed by a
/// primary source carry a `//` comment saying what is uncertain.
public enum BuiltinProviders {
    /// Every built-in provider, in the order `provider list` shows them. The
    /// definitions (`all`), the rules (`BuiltinRules.rules(for:)`) and the mock
    /// provider server's answers all come from this list.
    public static let list: [BuiltinProvider] = [
        .anthropic, .openai, .azureOpenAI, .gemini, .mistral, .groq, .deepseek, .zhipu, .zai,
        .moonshot, .dashscope, .openrouter, .cohere, .together, .xai, .fireworks, .perplexity, .huggingface,
    ]

    /// Every built-in provider's definition, in the same order.
    public static let all: [ProviderDefinition] = list.map(\.definition)

    /// The built-in provider called `name` (case-insensitive), whole, if any.
    public static func provider(named name: String) -> BuiltinProvider? {
        let wanted = name.lowercased()
        return list.first { $0.name == wanted }
    }

    /// The definition of the built-in provider called `name` (case-insensitive), if any.
    public static func named(_ name: String) -> ProviderDefinition? {
        provider(named: name)?.definition
    }
}

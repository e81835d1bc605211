/// The providers Keywarden knows out of the box.
///
/// Each entry says where the provider's API lives (`baseURL`, no trailing
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
/// detectors and gitleaks' rules. Entries whose data is not confirmed by a
/// primary source carry a `//` comment saying what is uncertain.
public enum BuiltinProviders {
    public static let all: [ProviderDefinition] = [
        ProviderDefinition(
            name: "anthropic",
            displayName: "Anthropic",
            baseURL: "https://api.anthropic.com",
            auth: .header("x-api-key"),
            headers: ["anthropic-version": "2023-06-01"],
            env: "ANTHROPIC_API_KEY",
            alternateEnv: ["CLAUDE_API_KEY"],
            keyFormat: KeyFormat(
                pattern: #"sk-ant-[A-Za-z0-9_-]{24,}"#,
                prefixes: ["sk-ant-api03-", "sk-ant-admin01-", "sk-ant-"],
                description: "sk-ant-api03-… (about 108 characters in all, ending in AA); admin keys sk-ant-admin01-…"
            ),
            probe: Probe(method: "GET", path: "/v1/models"),
            consoleURL: "https://console.anthropic.com/settings/keys"
        ),
        ProviderDefinition(
            name: "openai",
            displayName: "OpenAI",
            baseURL: "https://api.openai.com",
            auth: .bearer,
            env: "OPENAI_API_KEY",
            keyFormat: KeyFormat(
                pattern: #"sk-[A-Za-z0-9_-]{20,}"#,
                prefixes: ["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"],
                description: "sk-proj-… (project), sk-svcacct-… (service account), sk-admin-… (admin) or legacy sk-…; usually contains T3BlbkFJ"
            ),
            probe: Probe(method: "GET", path: "/v1/models"),
            consoleURL: "https://platform.openai.com/api-keys"
        ),
        // The host is a placeholder: every resource has its own
        // (`provider set azure-openai --base-url https://NAME.openai.azure.com`).
        // Key format uncertain: classic keys are 32 hex digits, newer resources
        // issue 84-character alphanumeric keys, hence the wide range.
        ProviderDefinition(
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
            consoleURL: "https://portal.azure.com/#view/Microsoft_Azure_ProjectOxford/CognitiveServicesHub/~/OpenAI"
        ),
        // Google is moving Gemini keys from the classic AIza… format to "auth
        // keys" beginning AQ. (reported mid-2026); the AQ. shape is not
        // documented, so only its prefix is checked.
        ProviderDefinition(
            name: "gemini",
            displayName: "Google Gemini",
            baseURL: "https://generativelanguage.googleapis.com",
            auth: .header("x-goog-api-key"),
            env: "GEMINI_API_KEY",
            alternateEnv: ["GOOGLE_API_KEY", "GOOGLE_GENERATIVE_AI_API_KEY"],
            keyFormat: KeyFormat(
                pattern: #"(?:AIza[A-Za-z0-9_-]{35}|AQ\.[A-Za-z0-9_.-]{20,})"#,
                prefixes: ["AIza", "AQ."],
                description: "AIza followed by 35 characters (39 in all), or a newer auth key beginning AQ."
            ),
            probe: Probe(method: "GET", path: "/v1beta/models"),
            consoleURL: "https://aistudio.google.com/app/apikey"
        ),
        // Key format from TruffleHog (32 letters and digits, no prefix), not
        // documented by Mistral; the range allows for a change.
        ProviderDefinition(
            name: "mistral",
            displayName: "Mistral AI",
            baseURL: "https://api.mistral.ai",
            auth: .bearer,
            env: "MISTRAL_API_KEY",
            keyFormat: KeyFormat(
                pattern: #"[A-Za-z0-9]{32,48}"#,
                prefixes: [],
                description: "32 letters and digits, no prefix"
            ),
            probe: Probe(method: "GET", path: "/v1/models"),
            consoleURL: "https://console.mistral.ai/api-keys"
        ),
        ProviderDefinition(
            name: "groq",
            displayName: "Groq",
            baseURL: "https://api.groq.com/openai",
            auth: .bearer,
            env: "GROQ_API_KEY",
            keyFormat: KeyFormat(
                pattern: #"gsk_[A-Za-z0-9]{40,64}"#,
                prefixes: ["gsk_"],
                description: "gsk_ followed by 52 letters and digits"
            ),
            probe: Probe(method: "GET", path: "/v1/models"),
            consoleURL: "https://console.groq.com/keys"
        ),
        ProviderDefinition(
            name: "deepseek",
            displayName: "DeepSeek",
            baseURL: "https://api.deepseek.com",
            auth: .bearer,
            env: "DEEPSEEK_API_KEY",
            keyFormat: KeyFormat(
                pattern: #"sk-[A-Za-z0-9]{24,64}"#,
                prefixes: ["sk-"],
                description: "sk- followed by 32 lowercase hexadecimal characters"
            ),
            probe: Probe(method: "GET", path: "/user/balance"),
            consoleURL: "https://platform.deepseek.com/api_keys"
        ),
        // Probe uncertain: GET /models is used by many clients and answers 401
        // without a key, but Zhipu's reference does not document it. Key format
        // (32 hex, a dot, 16 letters and digits) is observed, not documented.
        // Console path uncertain (the site has moved pages before).
        ProviderDefinition(
            name: "zhipu",
            displayName: "Zhipu AI (GLM, China)",
            baseURL: "https://open.bigmodel.cn/api/paas/v4",
            auth: .bearer,
            env: "ZHIPUAI_API_KEY",
            alternateEnv: ["ZHIPU_API_KEY"],
            keyFormat: KeyFormat(
                pattern: #"[0-9A-Fa-f]{32}\.[A-Za-z0-9]{8,32}"#,
                prefixes: [],
                description: "32 hexadecimal characters, a dot, then 16 letters and digits (49 in all)"
            ),
            probe: Probe(method: "GET", path: "/models"),
            consoleURL: "https://open.bigmodel.cn/usercenter/apikeys"
        ),
        // Same platform as zhipu, international endpoint; keys are not
        // interchangeable. Probe and key format uncertain as for zhipu.
        ProviderDefinition(
            name: "zai",
            displayName: "Z.ai (GLM, international)",
            baseURL: "https://api.z.ai/api/paas/v4",
            auth: .bearer,
            env: "ZAI_API_KEY",
            keyFormat: KeyFormat(
                pattern: #"[0-9A-Fa-f]{32}\.[A-Za-z0-9]{8,32}"#,
                prefixes: [],
                description: "32 hexadecimal characters, a dot, then 16 letters and digits (49 in all)"
            ),
            probe: Probe(method: "GET", path: "/models"),
            consoleURL: "https://z.ai/manage-apikey/apikey-list"
        ),
        // Keys from platform.moonshot.cn only work against https://api.moonshot.cn
        // (override with --base-url). Key length after sk- is observed (about
        // 48), not documented.
        ProviderDefinition(
            name: "moonshot",
            displayName: "Moonshot AI (Kimi)",
            baseURL: "https://api.moonshot.ai",
            auth: .bearer,
            env: "MOONSHOT_API_KEY",
            alternateEnv: ["KIMI_API_KEY"],
            keyFormat: KeyFormat(
                pattern: #"sk-[A-Za-z0-9]{20,80}"#,
                prefixes: ["sk-"],
                description: "sk- followed by letters and digits (about 48)"
            ),
            probe: Probe(method: "GET", path: "/v1/models"),
            consoleURL: "https://platform.moonshot.ai/console/api-keys"
        ),
        // Region-bound: international keys need https://dashscope-intl.aliyuncs.com/compatible-mode
        // (a key used in the wrong region gets 401 InvalidApiKey). Key format
        // observed (sk- and 32 hex; Coding Plan keys sk-sp-…), not documented.
        ProviderDefinition(
            name: "dashscope",
            displayName: "Alibaba Cloud DashScope (Qwen)",
            baseURL: "https://dashscope.aliyuncs.com/compatible-mode",
            auth: .bearer,
            env: "DASHSCOPE_API_KEY",
            keyFormat: KeyFormat(
                pattern: #"sk-[A-Za-z0-9_-]{20,80}"#,
                prefixes: ["sk-sp-", "sk-"],
                description: "sk- followed by 32 hexadecimal characters"
            ),
            probe: Probe(method: "GET", path: "/v1/models"),
            consoleURL: "https://bailian.console.aliyun.com/?apiKey=1"
        ),
        ProviderDefinition(
            name: "openrouter",
            displayName: "OpenRouter",
            baseURL: "https://openrouter.ai/api",
            auth: .bearer,
            env: "OPENROUTER_API_KEY",
            keyFormat: KeyFormat(
                pattern: #"sk-or-v1-[0-9A-Fa-f]{64}"#,
                prefixes: ["sk-or-v1-", "sk-or-"],
                description: "sk-or-v1- followed by 64 hexadecimal characters"
            ),
            probe: Probe(method: "GET", path: "/v1/key"),
            consoleURL: "https://openrouter.ai/settings/keys"
        ),
        // Key format (40 letters and digits, no prefix) from TruffleHog, not
        // documented by Cohere.
        ProviderDefinition(
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
        ),
        // Key format observed, not documented: current keys are tgp_v1_ and
        // about 43 URL-safe characters; older keys are 64 hexadecimal characters.
        ProviderDefinition(
            name: "together",
            displayName: "Together AI",
            baseURL: "https://api.together.xyz",
            auth: .bearer,
            env: "TOGETHER_API_KEY",
            alternateEnv: ["TOGETHER_AI_API_KEY"],
            keyFormat: KeyFormat(
                pattern: #"(?:tgp_v1_[A-Za-z0-9_-]{20,80}|[0-9A-Fa-f]{64})"#,
                prefixes: ["tgp_v1_"],
                description: "tgp_v1_ followed by about 43 characters, or (older keys) 64 hexadecimal characters"
            ),
            probe: Probe(method: "GET", path: "/v1/models"),
            consoleURL: "https://api.together.xyz/settings/api-keys"
        ),
        ProviderDefinition(
            name: "xai",
            displayName: "xAI (Grok)",
            baseURL: "https://api.x.ai",
            auth: .bearer,
            env: "XAI_API_KEY",
            keyFormat: KeyFormat(
                pattern: #"xai-[A-Za-z0-9_-]{40,120}"#,
                prefixes: ["xai-"],
                description: "xai- followed by 80 letters, digits and underscores"
            ),
            probe: Probe(method: "GET", path: "/v1/api-key"),
            consoleURL: "https://console.x.ai"
        ),
        // Key format observed (fw_ and about 24 letters and digits), not
        // documented; keys without the fw_ prefix are not ruled out.
        ProviderDefinition(
            name: "fireworks",
            displayName: "Fireworks AI",
            baseURL: "https://api.fireworks.ai/inference",
            auth: .bearer,
            env: "FIREWORKS_API_KEY",
            alternateEnv: ["FIREWORKS_AI_API_KEY"],
            keyFormat: KeyFormat(
                pattern: #"fw_[A-Za-z0-9_-]{16,}"#,
                prefixes: ["fw_"],
                description: "fw_ followed by letters and digits (about 24)"
            ),
            probe: Probe(method: "GET", path: "/v1/models"),
            consoleURL: "https://fireworks.ai/account/api-keys"
        ),
        // Probe uncertain: GET /v1/models is recent (2026) and may not reject a
        // bad key; Perplexity has no documented key-check endpoint.
        ProviderDefinition(
            name: "perplexity",
            displayName: "Perplexity",
            baseURL: "https://api.perplexity.ai",
            auth: .bearer,
            env: "PERPLEXITY_API_KEY",
            alternateEnv: ["PPLX_API_KEY"],
            keyFormat: KeyFormat(
                pattern: #"pplx-[A-Za-z0-9]{32,64}"#,
                prefixes: ["pplx-"],
                description: "pplx- followed by 48 letters and digits"
            ),
            probe: Probe(method: "GET", path: "/v1/models"),
            consoleURL: "https://www.perplexity.ai/settings/api"
        ),
        ProviderDefinition(
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
        ),
    ]

    /// The built-in provider called `name` (case-insensitive), if any.
    public static func named(_ name: String) -> ProviderDefinition? {
        let wanted = name.lowercased()
        return all.first { $0.name == wanted }
    }
}

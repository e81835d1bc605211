/// What a key is for, beyond calling the provider's models (`keys.role`).
public enum KeyRole: String, Codable, Sendable, CaseIterable {
    /// An admin or management key (OpenAI Admin API, OpenRouter management,
    /// Anthropic Admin API) that a built-in rotator uses. It is never
    /// delivered by `export`, `run`, `inject`, the agent's environment routes
    /// or the gateway unless asked (`export --include-admin`).
    case admin
}

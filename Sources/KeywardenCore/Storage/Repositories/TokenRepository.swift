/// The agent's client tokens.
protocol TokenReading {
    /// Every token, by creation time.
    func tokens() throws -> [AgentTokenRecord]
    /// The token with this name, or else with this id.
    func token(nameOrID: String) throws -> AgentTokenRecord?
    func token(hash: String) throws -> AgentTokenRecord?
    /// Whether a token has this name (its row is not read).
    func tokenNameExists(_ name: String) throws -> Bool
}

protocol TokenWriting: TokenReading {
    func insert(_ token: AgentTokenRecord) throws
    func update(_ token: AgentTokenRecord) throws
    /// Sets `last_used_at` alone (bookkeeping the row MAC leaves out).
    func markTokenUsed(id: String, at time: Timestamp) throws
}

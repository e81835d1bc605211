/// Which keys a query selects (every field set must match), and their order.
struct KeyQuery: Sendable {
    /// How the keys come back.
    enum Order: Sendable {
        /// Whatever order the backend finds them in.
        case unspecified
        case provider
        case createdAt
        case providerCreatedAt
        case providerScopeCreatedAt
        case retireAfter
    }

    var id: String?
    var provider: String?
    var scope: String?
    var states: [KeyState]?
    var env: String?
    var fingerprint: String?
    /// Only keys whose `retire_after` is at or before this time.
    var retireAfterUpTo: Timestamp?
    var order: Order = .unspecified

    init(id: String? = nil, provider: String? = nil, scope: String? = nil, states: [KeyState]? = nil, env: String? = nil,
         fingerprint: String? = nil, retireAfterUpTo: Timestamp? = nil, order: Order = .unspecified) {
        (self.id, self.provider, self.scope, self.states, self.env, self.fingerprint, self.retireAfterUpTo, self.order)
            = (id, provider, scope, states, env, fingerprint, retireAfterUpTo, order)
    }

    /// The keys of one pool, optionally in some states.
    static func pool(_ pool: Pool, states: [KeyState]? = nil, order: Order = .unspecified) -> KeyQuery {
        KeyQuery(provider: pool.provider, scope: pool.scope, states: states, order: order)
    }
}

/// Provider keys, sealed.
protocol KeyReading {
    func key(id: String) throws -> KeyRecord?
    func keys(_ query: KeyQuery) throws -> [KeyRecord]
    /// How many keys match (their rows are not read).
    func countKeys(_ query: KeyQuery) throws -> Int
    /// How many keys each provider has, in every scope.
    func keyCountsByProvider() throws -> [String: Int]
    /// The pools that have an active key, by provider and scope.
    func activePools() throws -> [Pool]
}

protocol KeyWriting: KeyReading {
    func insert(_ key: KeyRecord) throws
    func update(_ key: KeyRecord) throws
    func delete(_ key: KeyRecord) throws
    /// Stores a check's result in the columns the row MAC leaves out
    /// (`last_outcome`, `last_checked_at`, `last_detail`).
    func recordCheck(keyID: String, outcome: ValidationOutcome, at time: Timestamp, detail: String) throws
}

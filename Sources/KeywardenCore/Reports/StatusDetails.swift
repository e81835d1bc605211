/// The parts of `status` that answer "what needs me now": keys failing and
/// the rotations coming up. The counts, balances, expiries and network
/// incidents come with the vault's own status (`Vault.status()`); these are
/// read through the same public listings `key list` and `rotate policy list` use.
public struct StatusAttention: Codable, Sendable, Equatable {
    /// Keys in state `failed`, and serving keys (active, standby) whose last
    /// check said the key itself is bad: invalid, forbidden, out of credit.
    public var failingKeys: [KeyInfo]
    /// The next rotations a policy will make, soonest first (overdue ones first of all).
    public var nextRotations: [UpcomingRotation]

    enum CodingKeys: String, CodingKey {
        case failingKeys = "failing_keys", nextRotations = "next_rotations"
    }
}

/// A pool whose policy rotates it on a schedule, and when.
public struct UpcomingRotation: Codable, Sendable, Equatable {
    public var provider: String
    public var scope: String
    /// The active key the rotation replaces.
    public var key: String
    public var due: Timestamp
    /// `true` when `due` has passed (the scheduler or `rotate --due` will take it).
    public var overdue: Bool

    enum CodingKeys: String, CodingKey {
        case provider, scope, key, due, overdue
    }
}

extension Vault {
    /// Outcomes that blame the key itself (not the network, not the provider's load).
    static let keyBlamingOutcomes: Set<String> = [
        ValidationOutcome.invalid.rawValue, ValidationOutcome.forbidden.rawValue, ValidationOutcome.noCredit.rawValue,
    ]

    /// What `status` shows under "needs attention"; `rotations` caps the list of upcoming rotations.
    public func statusAttention(rotations limit: Int = 5) throws(KeywardenError) -> StatusAttention {
        let now = context.clock()
        let keys = try listKeys(KeyFilter()).filter { $0.inheritedBy == nil }
        let failing = keys.filter { key in
            key.state == .failed
                || ([.active, .standby].contains(key.state) && key.outcome.map(Self.keyBlamingOutcomes.contains) == true)
        }
        var upcoming: [UpcomingRotation] = []
        for key in keys where key.state == .active {
            guard let policy = try rotationPolicy(provider: key.provider, scope: key.scope), let every = policy.every else { continue }
            let due = (key.activatedAt ?? key.createdAt).adding(seconds: every.seconds)
            upcoming.append(UpcomingRotation(provider: key.provider, scope: key.scope, key: key.id, due: due, overdue: due <= now))
        }
        upcoming.sort { ($0.due, $0.provider, $0.scope) < ($1.due, $1.provider, $1.scope) }
        return StatusAttention(failingKeys: failing, nextRotations: Array(upcoming.prefix(limit)))
    }
}

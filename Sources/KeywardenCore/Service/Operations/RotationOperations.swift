/// Rotation: the plan (dry run), the run, and policies.
///
/// A run executes in the process that serves it — the agent when one is up —
/// and so do the policy's rotate and revoke commands: they get that
/// process's environment (minus Keywarden's credentials) and working
/// directory, as with the agent's scheduler. The new key's test goes out
/// with the caller's ``NetworkSettings``.
public enum Rotation {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Plan.self, Run.self, SetPolicy.self, Policies.self]

    /// `rotate … --dry-run`: every change the real run would make, as
    /// `would …` reports; changes nothing.
    public struct Plan: ServiceOperation {
        public static let name = "rotation.plan"
        /// One pool now, or every pool that is due.
        public var target: RotationRequest
        /// Plan the rewrite of files `export --output` wrote.
        public var reexport: Bool

        public init(target: RotationRequest, reexport: Bool) {
            self.target = target
            self.reexport = reexport
        }

        public func run(in session: ServiceSession) async throws -> [RotationReport] {
            // Planning tests nothing: the validator is never used.
            let rotator = Rotator(vault: session.vault, validator: Validator(client: NetworkSettings(environment: [:]).client))
            return try await session.vault { _ in try rotator.plan(target, reexport: reexport).preview }
        }
    }

    /// `rotate PROVIDER --scope S` / `rotate --due`: plans, then carries out
    /// exactly that plan; one report per step.
    public struct Run: ServiceOperation {
        public static let name = "rotation.run"
        public var target: RotationRequest
        /// Rewrite the files `export --output` wrote whose keys change.
        public var reexport: Bool
        /// The time limit for testing each new key.
        public var timeout: DurationSpec
        /// How the new key's test reaches the provider: the caller's settings.
        public var network: NetworkSettings
        /// Test hook, honoured by debug builds only: `create`, `set`, `test`
        /// or `finish` kills the process that runs the rotation (SIGKILL)
        /// right after that step is recorded. The CLI sends its own
        /// `KEYWARDEN_CRASH_AT`; through an agent, the agent is the one killed.
        public var crashAt: String?

        enum CodingKeys: String, CodingKey { case target, reexport, timeout, network, crashAt = "crash_at" }

        public init(target: RotationRequest, reexport: Bool, timeout: DurationSpec, network: NetworkSettings, crashAt: String? = nil) {
            (self.target, self.reexport, self.timeout, self.network, self.crashAt) = (target, reexport, timeout, network, crashAt)
        }

        public func run(in session: ServiceSession) async throws -> [RotationReport] {
            try Validation.check(timeout)
            let validator = Validator(client: network.client, timeout: .seconds(timeout.seconds))
            let rotator = Rotator(vault: session.vault, validator: validator, crashAt: crashAt, runner: session.runner)
            let plan = try await session.vault { _ in try rotator.plan(target, reexport: reexport) }
            // Executing awaits probes and commands between its vault calls,
            // so it is not one piece of vault work: each of its vault calls
            // goes through the session's runner (the agent's pool, the
            // "locked meanwhile" check, audit events naming the caller).
            return try await rotator.execute(plan)
        }
    }

    /// `rotate policy PROVIDER --scope S …`: creates or changes a pool's policy.
    public struct SetPolicy: ServiceOperation {
        public static let name = "rotation.set-policy"
        public var provider: String
        public var scope: String
        public var change: RotationPolicyChange

        public init(provider: String, scope: String, change: RotationPolicyChange) {
            (self.provider, self.scope, self.change) = (provider, scope, change)
        }

        public func run(in session: ServiceSession) async throws -> RotationPolicy {
            try await session.vault { vault in try vault.setRotationPolicy(provider: provider, scope: scope, change) }
        }
    }

    /// `rotate policy list`: every policy that is set, by provider and scope.
    public struct Policies: ServiceOperation {
        public static let name = "rotation.policies"

        public init() {}

        public func run(in session: ServiceSession) async throws -> [RotationPolicy] {
            try await session.vault { vault in try vault.rotationPolicies() }
        }
    }
}

/// On the wire a change keeps "leave as is" apart from "remove": a field that
/// is absent keeps its value, `null` clears it (`every` → manual only,
/// `command`/`revoke_command` → none, `spread` → the active key alone), a
/// value sets it.
extension RotationPolicyChange: Codable {
    enum CodingKeys: String, CodingKey {
        case every, grace, command, revokeCommand = "revoke_command", commandTimeout = "command_timeout"
        case revokeTimeout = "revoke_timeout", failover, spread
        case via, adminKey = "admin_key", project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func clearable<T: Decodable>(_ key: CodingKeys) throws -> T?? {
            guard c.contains(key) else { return nil }
            return try c.decodeNil(forKey: key) ? .some(nil) : .some(try c.decode(T.self, forKey: key))
        }
        self.init(every: try clearable(.every), grace: try c.decodeIfPresent(DurationSpec.self, forKey: .grace),
                  command: try clearable(.command), revokeCommand: try clearable(.revokeCommand),
                  commandTimeout: try c.decodeIfPresent(DurationSpec.self, forKey: .commandTimeout),
                  revokeTimeout: try c.decodeIfPresent(DurationSpec.self, forKey: .revokeTimeout),
                  failover: try c.decodeIfPresent(Bool.self, forKey: .failover), spread: try clearable(.spread),
                  via: try clearable(.via), adminKey: try c.decodeIfPresent(String.self, forKey: .adminKey),
                  project: try c.decodeIfPresent(String.self, forKey: .project))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func clearable<T: Encodable>(_ value: T??, _ key: CodingKeys) throws {
            guard let value else { return }
            if let value { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
        }
        try clearable(every, .every)
        try c.encodeIfPresent(grace, forKey: .grace)
        try clearable(command, .command)
        try clearable(revokeCommand, .revokeCommand)
        try c.encodeIfPresent(commandTimeout, forKey: .commandTimeout)
        try c.encodeIfPresent(revokeTimeout, forKey: .revokeTimeout)
        try c.encodeIfPresent(failover, forKey: .failover)
        try clearable(spread, .spread)
        try clearable(via, .via)
        try c.encodeIfPresent(adminKey, forKey: .adminKey)
        try c.encodeIfPresent(project, forKey: .project)
    }
}

extension KeywardenService {
    public func planRotation(_ request: Rotation.Plan) async throws -> [RotationReport] { try await perform(request) }
    public func rotate(_ request: Rotation.Run) async throws -> [RotationReport] { try await perform(request) }
    public func setRotationPolicy(provider: String, scope: String, _ change: RotationPolicyChange) async throws -> RotationPolicy {
        try await perform(Rotation.SetPolicy(provider: provider, scope: scope, change: change))
    }
    public func rotationPolicies() async throws -> [RotationPolicy] { try await perform(Rotation.Policies()) }
}

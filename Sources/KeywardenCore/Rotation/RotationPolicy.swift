import Foundation

/// How a pool's keys are rotated. A policy set on a parent scope applies to
/// its children unless they have their own.
public struct RotationPolicy: Codable, Sendable, Equatable {
    public var provider: String
    /// The scope the policy is set on.
    public var scope: String
    /// Rotate every N seconds; nil for manual rotation only.
    public var every: DurationSpec?
    /// How long a replaced key stays `retiring` before it is revoked.
    public var grace: DurationSpec
    /// Prints a new key on stdout (run with `/bin/sh -c`).
    public var command: String?
    /// Receives the old key on stdin when it is revoked.
    public var revokeCommand: String?
    public var commandTimeout: DurationSpec
    /// Time limit for the revoke command (default 60s).
    public var revokeTimeout: DurationSpec
    /// Promote a healthy standby key when the active one is reported or found bad.
    public var failover: Bool
    /// Spread the gateway's traffic over the pool's healthy keys; nil for the active key alone.
    public var spread: GatewaySpread?
    /// A built-in rotator through the provider's API; nil: standbys and `command`.
    public var via: ProviderRotatorKind?
    /// The `kw://SCOPE/NAME` reference of the admin key `via` uses (never its value).
    public var adminKey: String?
    /// OpenAI's project id (`openai-admin`).
    public var project: String?
    /// Set when listed for a child scope that inherits it.
    public var inheritedBy: String?

    enum CodingKeys: String, CodingKey {
        case provider, scope, every, grace, command, revokeCommand = "revoke_command", commandTimeout = "command_timeout", failover, spread
        case revokeTimeout = "revoke_timeout"
        case via, adminKey = "admin_key", project
        case inheritedBy = "inherited_by"
    }

    /// The rotation can make a new key without a standby: a command, or a
    /// rotator that creates keys.
    var canCreate: Bool { command != nil || via?.creates == true }

    init(_ r: RotationPolicyRecord) {
        provider = r.provider
        scope = r.scope
        every = r.everySeconds.map { DurationSpec(seconds: $0) }
        grace = DurationSpec(seconds: r.graceSeconds)
        command = r.command
        revokeCommand = r.revokeCommand
        commandTimeout = DurationSpec(seconds: r.commandTimeoutSeconds)
        revokeTimeout = DurationSpec(seconds: r.revokeTimeoutSeconds)
        failover = r.failover
        spread = r.spread
        via = r.via
        adminKey = r.adminKey
        project = r.project
    }
}

/// Changes to a policy; nil fields keep their current value.
public struct RotationPolicyChange: Sendable {
    public var every: DurationSpec??
    public var grace: DurationSpec?
    public var command: String??
    public var revokeCommand: String??
    public var commandTimeout: DurationSpec?
    public var revokeTimeout: DurationSpec?
    public var failover: Bool?
    /// `.some(nil)`: back to the active key alone.
    public var spread: GatewaySpread??
    /// `.some(nil)`: no built-in rotator (its admin key and project go too).
    public var via: ProviderRotatorKind??
    public var adminKey: String?
    public var project: String?

    public init(every: DurationSpec?? = nil, grace: DurationSpec? = nil, command: String?? = nil, revokeCommand: String?? = nil,
                commandTimeout: DurationSpec? = nil, revokeTimeout: DurationSpec? = nil, failover: Bool? = nil, spread: GatewaySpread?? = nil,
                via: ProviderRotatorKind?? = nil, adminKey: String? = nil, project: String? = nil) {
        self.via = via
        self.adminKey = adminKey
        self.project = project
        self.every = every
        self.grace = grace
        self.command = command
        self.revokeCommand = revokeCommand
        self.commandTimeout = commandTimeout
        self.revokeTimeout = revokeTimeout
        self.failover = failover
        self.spread = spread
    }
}

extension Vault {
    /// Sets (creates or changes) the policy of a pool.
    public func setRotationPolicy(provider: String, scope: String, _ change: RotationPolicyChange) throws(KeywardenError) -> RotationPolicy {
        try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule)
        return try write { tx in
            _ = try self.provider(named: provider, tx)
            guard try tx.scopeExists(scope) else { throw KeywardenError.unknownScope(scope) }
            try ensureProviderRow(provider, tx)
            var record = try tx.rotationPolicy(provider: provider, scope: scope)
                ?? RotationPolicyRecord(provider: provider, scope: scope, everySeconds: nil, graceSeconds: 86400, command: nil, revokeCommand: nil,
                                        commandTimeoutSeconds: 60, failover: false, updatedAt: now, revokeTimeoutSeconds: 60)
            if let every = change.every { record.everySeconds = every?.seconds }
            if let grace = change.grace { record.graceSeconds = grace.seconds }
            if let command = change.command { record.command = command?.isEmpty == true ? nil : command }
            if let revoke = change.revokeCommand { record.revokeCommand = revoke?.isEmpty == true ? nil : revoke }
            if let timeout = change.commandTimeout { record.commandTimeoutSeconds = max(1, timeout.seconds) }
            if let timeout = change.revokeTimeout { record.revokeTimeoutSeconds = max(1, timeout.seconds) }
            if let failover = change.failover { record.failover = failover }
            if let spread = change.spread { record.spread = spread }
            try applyRotator(change, to: &record, tx)
            record.updatedAt = now
            try tx.save(record)
            let policy = RotationPolicy(record)
            try appendAudit(AuditDraft(action: "rotate.policy", provider: provider, scope: scope, outcome: "ok",
                                       detail: "every \(policy.every?.description ?? "manual"), grace \(policy.grace), failover \(policy.failover ? "on" : "off")\(policy.spread.map { ", spread \($0.rawValue)" } ?? "")\(policy.command != nil ? ", with command" : "")\(policy.revokeCommand != nil ? ", with revoke command" : "")\(policy.via.map { ", via \($0.rawValue) with admin key \(policy.adminKey ?? "-")\(policy.project.map { " in project \($0)" } ?? "")" } ?? "")"), tx)
            return policy
        }
    }

    /// Every policy that is set, by provider and scope.
    public func rotationPolicies() throws(KeywardenError) -> [RotationPolicy] {
        try read { tx in try tx.rotationPolicies().map(RotationPolicy.init) }
    }

    /// The policy in force for a pool: its own, else the nearest parent scope's.
    public func rotationPolicy(provider: String, scope: String) throws(KeywardenError) -> RotationPolicy? {
        try read { tx in try rotationPolicy(provider: provider, scope: scope, tx) }
    }

    func rotationPolicy(provider: String, scope: String, _ tx: any StoreReading) throws -> RotationPolicy? {
        for level in try scopeChain(scope, tx) {
            if let record = try tx.rotationPolicy(provider: provider, scope: level) {
                var policy = RotationPolicy(record)
                if level != scope { policy.inheritedBy = scope }
                return policy
            }
        }
        return nil
    }
}

extension Vault {
    /// Applies `--via`, `--admin-key` and `--project` to a policy being set,
    /// and checks the result: the rotator fits the pool's provider, the admin
    /// key reference names an admin key of that provider, OpenAI has a
    /// project. Errors name the option at fault; nothing is stored.
    func applyRotator(_ change: RotationPolicyChange, to record: inout RotationPolicyRecord, _ tx: any StoreReading) throws {
        if let via = change.via {
            record.via = via
            if via == nil { (record.adminKey, record.project) = (nil, nil) }
        }
        if let reference = change.adminKey { record.adminKey = reference.isEmpty ? nil : reference }
        if let project = change.project { record.project = project.isEmpty ? nil : project }
        guard let via = record.via else {
            if change.adminKey?.isEmpty == false || change.project?.isEmpty == false {
                throw KeywardenError(.invalidInput, "--admin-key and --project go with --via (openai-admin, openrouter-management or anthropic-admin); nothing was changed")
            }
            return
        }
        guard via.provider == record.provider else {
            throw KeywardenError(.invalidInput, "--via \(via.rawValue) rotates \(via.provider) keys, not \(record.provider) keys; nothing was changed")
        }
        guard let text = record.adminKey else {
            throw KeywardenError(.invalidInput, "--via \(via.rawValue) needs --admin-key kw://SCOPE/NAME, the admin key it uses (stored with `keywarden key add \(via.provider) --scope SCOPE --admin`); nothing was changed")
        }
        let reference = try AdminKeyReference(parsing: text)
        guard reference.scope != record.scope else {
            throw KeywardenError(.invalidInput, "--admin-key \(reference) is in scope \(record.scope), the scope it rotates; keep admin keys in a scope of their own (e.g. kw://admin/\(reference.name)); nothing was changed")
        }
        _ = try adminKey(reference, provider: via.provider, tx)
        if via == .openaiAdmin {
            guard let project = record.project else {
                throw KeywardenError(.invalidInput, "--via openai-admin needs --project PROJECT_ID (proj_…), the project whose service accounts hold the keys; nothing was changed")
            }
            guard project.count <= 64, project.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw KeywardenError(.invalidInput, "invalid --project '\(project)': an OpenAI project id is letters, digits, _ and - (e.g. proj_abc123); nothing was changed")
            }
        } else if record.project != nil {
            throw KeywardenError(.invalidInput, "--project is for --via openai-admin only; nothing was changed")
        }
    }
}

/// `rotation_policies`: how a pool rotates.
struct RotationPolicyRecord: Sendable, Equatable {
    var provider: String
    var scope: String
    var everySeconds: Int64?
    var graceSeconds: Int64
    var command: String?
    var revokeCommand: String?
    var commandTimeoutSeconds: Int64
    var failover: Bool
    var updatedAt: Timestamp
    var revokeTimeoutSeconds: Int64
    /// NULL: the active key alone serves the gateway's traffic.
    var spread: GatewaySpread? = nil
    /// A built-in rotator through the provider's API (0011); nil: standbys and the command.
    var via: ProviderRotatorKind? = nil
    /// The `kw://SCOPE/NAME` reference of the admin key `via` uses.
    var adminKey: String? = nil
    /// OpenAI's project id, for `openai-admin`.
    var project: String? = nil
}

/// What started a rotation (`rotations.trigger`).
enum RotationTrigger: String, Sendable, CaseIterable {
    case manual, due, failover, scheduler
}

/// How far a rotation got (`rotations.step`): the four steps, then how it ended.
enum RotationStage: String, Sendable, CaseIterable {
    case create, set, test, finish, done, failed
    case rolledBack = "rolled_back"

    /// Steps of a rotation still under way (or interrupted by a crash).
    static let open: [RotationStage] = [.create, .set, .test, .finish]

    var isOpen: Bool { Self.open.contains(self) }
}

/// `rotations`: one row per rotation and the step it reached. Not covered by
/// a MAC: `Rotator` checks the keys a row names before acting on it.
struct RotationRecord: Sendable, Equatable {
    var id: String
    var provider: String
    var scope: String
    var oldKeyId: String?
    var newKeyId: String?
    var trigger: RotationTrigger
    var step: RotationStage
    var startedAt: Timestamp
    var updatedAt: Timestamp
    var detail: String?

    var pool: Pool { Pool(provider: provider, scope: scope) }
}

/// `exported_files`: a file `export --output` wrote, rewritten by rotations.
struct ExportedFileRecord: Sendable, Equatable {
    var path: String
    var scope: String
    var format: ExportFormat
    /// The `--only` selection (stored comma-separated); nil: every variable.
    var only: [String]?
    var updatedAt: Timestamp
}

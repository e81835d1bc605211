import KeywardenCore

/// What the agent's scheduler does (`serve --rotation-interval`,
/// `--recovery-max-backoff`): rotations every `interval` (nil: off), and
/// recovery probes of failed keys with `recovery`'s backoff (nil: off).
public struct SchedulerSettings: Sendable {
    /// How often due rotations run; nil when `--rotation-interval off`.
    public var interval: Duration?
    /// The scheduler's checks go out with the agent's own network settings.
    public var validator: Validator
    /// The recovery probes' backoff; nil when `--recovery-max-backoff off`.
    public var recovery: RecoveryBackoff?
    /// How often the recovery probes look for keys whose next probe is due.
    public var recoveryInterval: Duration

    public init(interval: Duration?, validator: Validator, recovery: RecoveryBackoff? = RecoveryBackoff(), recoveryInterval: Duration = .seconds(20)) {
        self.interval = interval
        self.validator = validator
        self.recovery = recovery
        self.recoveryInterval = recoveryInterval
    }

    /// Whether the scheduler has anything to do.
    var isActive: Bool { interval != nil || recovery != nil }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// Who is acting, recorded in every audit event.
public struct AuditActor: Sendable, Equatable {
    public var uid: UInt32
    public var pid: Int32
    /// The command (`keywarden key add`) or client (`agent peer uid=1000`); never arguments that could hold values.
    public var name: String

    public init(uid: UInt32, pid: Int32, name: String) {
        self.uid = uid
        self.pid = pid
        self.name = name
    }

    /// The caller an operation runs for (``ServiceSession/vault(_:)`` binds
    /// it): audit events name it instead of the process that holds the vault,
    /// so an event written by the agent names the client that asked.
    @TaskLocal public static var current: AuditActor?

    /// This process.
    public static func currentProcess(name: String) -> AuditActor {
        AuditActor(uid: getuid(), pid: getpid(), name: name)
    }
}

/// What varies between a real run and a test: the actor, the clock, the logger.
public struct VaultContext: Sendable {
    public var actor: AuditActor
    public var clock: @Sendable () -> Timestamp
    public var logger: Logger
    /// Where the audit chain's head is anchored outside the vault file
    /// (`AuditAnchor.defaultDirectory(environment:)` for the CLI and agent);
    /// nil: not anchored, so tests never write into a real home.
    public var anchorDirectory: String?
    /// Anchor at most once per this interval (the agent); nil: every commit.
    public var anchorInterval: Duration?

    public init(actor: AuditActor, clock: @escaping @Sendable () -> Timestamp = Timestamp.now, logger: Logger, anchorDirectory: String? = nil,
                anchorInterval: Duration? = nil) {
        self.actor = actor
        self.clock = clock
        self.logger = logger
        self.anchorDirectory = anchorDirectory
        self.anchorInterval = anchorInterval
    }
}

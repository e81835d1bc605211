/// Operations on the vault's status.
public enum Overview {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Status.self, Attention.self]

    /// `status`: the vault's location, schema and contents at a glance.
    public struct Status: ServiceOperation {
        public static let name = "overview.status"

        public init() {}

        public func run(in session: ServiceSession) async throws -> VaultStatus {
            try await session.vault { vault in try vault.status() }
        }
    }

    /// `status`'s "needs attention": keys failing now and the next rotations due.
    public struct Attention: ServiceOperation {
        public static let name = "overview.attention"

        public init() {}

        public func run(in session: ServiceSession) async throws -> StatusAttention {
            try await session.vault { vault in try vault.statusAttention() }
        }
    }
}

extension KeywardenService {
    public func status() async throws -> VaultStatus { try await perform(Overview.Status()) }
    public func statusAttention() async throws -> StatusAttention { try await perform(Overview.Attention()) }
}

/// Operations on the vault's status.
public enum Overview {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Status.self]

    /// `status`: the vault's location, schema and contents at a glance.
    public struct Status: ServiceOperation {
        public static let name = "overview.status"

        public init() {}

        public func run(in session: ServiceSession) async throws -> VaultStatus {
            try await session.vault { vault in try vault.status() }
        }
    }
}

extension KeywardenService {
    public func status() async throws -> VaultStatus { try await perform(Overview.Status()) }
}

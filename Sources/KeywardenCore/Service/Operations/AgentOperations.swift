/// Operations on the agent itself (lock).
public enum AgentControl {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Lock.self]

    /// `lock`: the agent wipes the master key, stops serving, and restarts
    /// without the vault. Only an agent can be locked: in-process there is
    /// nothing to lock, and the vault closes with the command anyway.
    public struct Lock: ServiceOperation {
        public static let name = "agent.lock"

        public init() {}

        public func run(in session: ServiceSession) async throws -> Done {
            guard let agent = session.agent else {
                throw KeywardenError(.notFound, "no agent is running here, so there is nothing to lock; `keywarden lock` locks the agent that `keywarden serve` started")
            }
            await agent.lock()
            return Done()
        }
    }
}

extension KeywardenService {
    /// Locks the agent that serves this API.
    public func lockAgent() async throws { _ = try await perform(AgentControl.Lock()) }
}

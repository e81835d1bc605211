/// Key health: `key check` (a failed key comes back once it passes).
public enum KeyHealth {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Check.self]

    /// `key check ID`: validates one key now; a failed key that passes is
    /// standby again (active when its pool has none), whatever made it fail.
    public struct Check: ServiceOperation {
        public static let name = "keys.check"
        public var id: String
        /// For the whole check, retries included.
        public var timeout: DurationSpec
        public var network: NetworkSettings

        public init(id: String, timeout: DurationSpec, network: NetworkSettings) {
            (self.id, self.timeout, self.network) = (id, timeout, network)
        }

        public func run(in session: ServiceSession) async throws -> RecoveryResult {
            try Validation.check(timeout)
            let validator = Validator(client: network.client, timeout: .seconds(timeout.seconds))
            return try await KeyRecovery(vault: session.vault, validator: validator, runner: session.runner).check(keyID: id)
        }
    }
}

extension KeywardenService {
    public func checkKey(_ request: KeyHealth.Check) async throws -> RecoveryResult { try await perform(request) }
}

/// Operations on the audit trail (events, verify).
public enum Audit {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Events.self, Verify.self]

    /// `audit`: events matching a filter, oldest first.
    public struct Events: ServiceOperation {
        public static let name = "audit.events"
        public var provider: String?
        public var scope: String?
        public var keyID: String?
        /// An action name, family or last part, normalized (``AuditActions/normalize(_:)``).
        public var action: String?
        public var since: Timestamp?
        /// Only events where a key failed authentication.
        public var failedAuth: Bool
        /// Only the newest N events.
        public var limit: Int?

        enum CodingKeys: String, CodingKey { case provider, scope, keyID = "key_id", action, since, failedAuth = "failed_auth", limit }

        public init(_ filter: AuditFilter) {
            provider = filter.provider
            scope = filter.scope
            keyID = filter.keyID
            action = filter.action
            since = filter.since
            failedAuth = filter.failedAuth
            limit = filter.limit
        }

        var filter: AuditFilter {
            var filter = AuditFilter()
            filter.provider = provider
            filter.scope = scope
            filter.keyID = keyID
            filter.action = action
            filter.since = since
            filter.failedAuth = failedAuth
            filter.limit = limit
            return filter
        }

        public func run(in session: ServiceSession) async throws -> [AuditEvent] {
            let filter = self.filter
            return try await session.vault { vault in try vault.auditEvents(filter) }
        }
    }

    /// `audit verify`: checks the hash chain; a broken chain is an answer, not an error.
    public struct Verify: ServiceOperation {
        public static let name = "audit.verify"

        public init() {}

        public func run(in session: ServiceSession) async throws -> AuditVerification {
            try await session.vault { vault in try vault.verifyAudit() }
        }
    }
}

extension KeywardenService {
    public func auditEvents(_ filter: AuditFilter) async throws -> [AuditEvent] { try await perform(Audit.Events(filter)) }
    public func verifyAudit() async throws -> AuditVerification { try await perform(Audit.Verify()) }
}

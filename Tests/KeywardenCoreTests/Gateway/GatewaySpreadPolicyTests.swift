import Foundation
import GRDB
import Testing
@testable import KeywardenCore

/// `rotate policy … --spread`: the pool switch is stored, audited, carried
/// over the wire, and authenticated by the policy row's MAC.
@Suite("Gateway spread: the pool policy switch")
struct GatewaySpreadPolicyTests {
    @Test("spread is stored, read back after reopening, listed, and audited as ', spread round-robin'", arguments: TestBackend.available)
    func storedAndAudited(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let set = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(failover: true, spread: .some(.roundRobin)))
        #expect(set.spread == .roundRobin)
        let reopened = try f.reopen()
        #expect(try reopened.rotationPolicies().map(\.spread) == [.roundRobin])
        #expect(try reopened.rotationPolicy(provider: "anthropic", scope: "prod")?.spread == .roundRobin)
        var filter = AuditFilter()
        filter.action = "rotate.policy"
        let detail = try #require(try reopened.auditEvents(filter).last?.detail)
        #expect(detail.contains("failover on, spread round-robin"), "\(detail)")
    }

    @Test("a child scope inherits its parent's spread", arguments: TestBackend.available)
    func inherited(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.addScope("prod-eu", parent: "prod")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(spread: .some(.leastInFlight)))
        let policy = try #require(try f.vault.rotationPolicy(provider: "anthropic", scope: "prod-eu"))
        #expect(policy.spread == .leastInFlight)
        #expect(policy.inheritedBy == "prod-eu")
    }

    @Test("a change without spread keeps it; .some(nil) turns it off, and the audit detail drops it", arguments: TestBackend.available)
    func keepAndClear(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(spread: .some(.leastInFlight)))
        #expect(try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(failover: true)).spread == .leastInFlight)
        let cleared = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(spread: .some(nil)))
        #expect(cleared.spread == nil)
        #expect(try f.value("SELECT COALESCE(spread, 'NULL') FROM rotation_policies") == "NULL")
        var filter = AuditFilter()
        filter.action = "rotate.policy"
        #expect(try f.vault.auditEvents(filter).last?.detail?.contains("spread") == false)
    }

    @Test("on the wire: absent keeps, null turns off, a value sets; the policy's JSON carries spread")
    func wireForm() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json(_ change: RotationPolicyChange) throws -> String { String(decoding: try encoder.encode(change), as: UTF8.self) }
        func change(_ json: String) throws -> RotationPolicyChange { try JSONDecoder().decode(RotationPolicyChange.self, from: Data(json.utf8)) }

        #expect(try json(RotationPolicyChange(spread: .some(.roundRobin))) == #"{"spread":"round-robin"}"#)
        #expect(try json(RotationPolicyChange(spread: .some(nil))) == #"{"spread":null}"#)
        #expect(try json(RotationPolicyChange(failover: true)) == #"{"failover":true}"#)
        #expect(try change(#"{"spread":"least-in-flight"}"#).spread == .some(.leastInFlight))
        #expect(try change(#"{"spread":null}"#).spread == .some(nil))
        #expect(try change(#"{"failover":false}"#).spread == nil)
        #expect(throws: DecodingError.self) { try change(#"{"spread":"random"}"#) }

        let f = try VaultFixture()
        let policy = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(spread: .some(.roundRobin)))
        let text = String(decoding: try encoder.encode(policy), as: UTF8.self)
        #expect(text.contains(#""spread":"round-robin""#), "\(text)")
        #expect(try JSONDecoder().decode(RotationPolicy.self, from: Data(text.utf8)) == policy)
    }

    @Test("a policy row written before spread joined the MAC still verifies: NULL is left out of the MAC input")
    func oldRowKeepsItsMAC() throws {
        let f = try VaultFixture()
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(every: .some(DurationSpec(seconds: 86400)), failover: true))
        // The column list before 0008, and the MAC a release without `spread` wrote for this row.
        let before = RowAuthentication.Table(name: "rotation_policies", key: ["provider", "scope"], fields: [
            "every_seconds", "grace_seconds", "command", "revoke_command", "command_timeout_seconds", "revoke_timeout_seconds",
            "failover", "updated_at",
        ])
        #expect(RowAuthentication.rotationPolicies.fields.contains("spread"))
        let authenticator = f.vault.rows(.verify)
        try f.raw().write { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM rotation_policies"))
            let values = { (column: String) in column == "spread" ? StoredValue.null : StoredValue(row.hasColumn(column) ? row[column] as DatabaseValue : .null) }
            let oldMAC = try authenticator.expectedMAC(before, values)
            #expect(oldMAC == Array(try #require(row["mac"] as Data?)), "a NULL spread must not change the MAC")
            try db.execute(sql: "UPDATE rotation_policies SET mac = ?", arguments: [Data(oldMAC)])
        }
        let reopened = try f.reopen()
        let policy = try #require(try reopened.rotationPolicies().first)
        #expect(policy.spread == nil)
        #expect(policy.failover)
        // And it can be changed from there.
        #expect(try reopened.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(spread: .some(.roundRobin))).spread == .roundRobin)
        #expect(try f.reopen().rotationPolicies().first?.spread == .roundRobin)
    }

    @Test("spread set or changed with SQL is refused (it decides which keys serve)", arguments: TestBackend.available)
    func tampered(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(failover: true))
        _ = try f.vault.setRotationPolicy(provider: "openai", scope: "prod", RotationPolicyChange(spread: .some(.leastInFlight)))
        try f.execute("UPDATE rotation_policies SET spread = 'round-robin' WHERE provider = 'anthropic'")
        let error = #expect(throws: KeywardenError.self) { try f.vault.rotationPolicy(provider: "anthropic", scope: "prod") }
        #expect(error?.kind == .integrity)
        #expect(error?.message.contains("rotation policy of anthropic/prod") == true, "\(error?.message ?? "")")

        try f.execute("UPDATE rotation_policies SET spread = NULL WHERE provider = 'openai'")
        let cleared = #expect(throws: KeywardenError.self) { try f.vault.rotationPolicy(provider: "openai", scope: "prod") }
        #expect(cleared?.kind == .integrity)
    }
}

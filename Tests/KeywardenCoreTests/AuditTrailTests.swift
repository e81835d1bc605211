import Foundation
import GRDB
import Testing
@testable import KeywardenCore
import KeywardenTestSupport

@Suite("Audit trail: hash chain and queries")
struct AuditTrailTests {
    /// A vault with a handful of events (init, 3 scope adds, a key add, a reveal).
    func populated(_ backend: TestBackend) throws -> (VaultFixture, String) {
        let f = try VaultFixture(backend: backend)
        for name in ["a", "b", "c"] { _ = try f.vault.addScope(name, parent: nil) }
        let key = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        _ = try f.vault.revealKey(id: key.key.id)
        return (f, key.key.id)
    }

    /// Runs SQL past the append-only triggers, as an attacker with the file
    /// (or a superuser of the database) would.
    func tamper(_ f: VaultFixture, _ sql: String) throws {
        try f.executePastAuditTriggers(sql)
    }

    @Test("an untouched trail verifies", arguments: TestBackend.available)
    func intact(backend: TestBackend) throws {
        let (f, _) = try populated(backend)
        let result = try f.vault.verifyAudit()
        #expect(result.ok)
        #expect(result.checked == 6)
    }

    @Test("an edited event is reported by its number", arguments: TestBackend.available)
    func edited(backend: TestBackend) throws {
        let (f, _) = try populated(backend)
        try tamper(f, "UPDATE audit_events SET detail = 'nothing to see' WHERE seq = 3")
        let result = try f.vault.verifyAudit()
        #expect(!result.ok)
        #expect(result.firstBadSeq == 3)
        #expect(result.problem?.contains("event #3 was altered") == true)
    }

    @Test("a deleted event in the middle is reported", arguments: TestBackend.available)
    func deletedMiddle(backend: TestBackend) throws {
        let (f, _) = try populated(backend)
        try tamper(f, "DELETE FROM audit_events WHERE seq = 2")
        let result = try f.vault.verifyAudit()
        #expect(!result.ok)
        #expect(result.firstBadSeq == 2)
        #expect(result.problem?.contains("missing") == true)
    }

    @Test("deleting the newest events is reported", arguments: TestBackend.available)
    func deletedTail(backend: TestBackend) throws {
        let (f, _) = try populated(backend)
        try tamper(f, "DELETE FROM audit_events WHERE seq >= 5")
        let result = try f.vault.verifyAudit()
        #expect(!result.ok)
        #expect(result.firstBadSeq == 5)
        #expect(result.problem?.contains("deleted") == true)
    }

    @Test("two events swapped in order are reported", arguments: TestBackend.available)
    func reordered(backend: TestBackend) throws {
        let (f, _) = try populated(backend)
        try tamper(f, """
            UPDATE audit_events SET seq = -1 WHERE seq = 2;
            UPDATE audit_events SET seq = 2 WHERE seq = 3;
            UPDATE audit_events SET seq = 3 WHERE seq = -1;
            """)
        let result = try f.vault.verifyAudit()
        #expect(!result.ok)
        #expect(result.firstBadSeq == 2)
    }

    @Test("a forged event appended with a made-up hash is reported", arguments: TestBackend.available)
    func forged(backend: TestBackend) throws {
        let (f, _) = try populated(backend)
        try tamper(f, "INSERT INTO audit_events (seq, at, actor_uid, actor_pid, actor, action, outcome, hash) VALUES (7, '2026-01-01T00:00:00.000Z', 0, 1, 'x', 'key.add', 'ok', '\(String(repeating: "ab", count: 32))')")
        #expect(try !f.vault.verifyAudit().ok)
    }

    @Test("filters select by key, action family, time and limit", arguments: TestBackend.available)
    func filters(backend: TestBackend) throws {
        let (f, keyID) = try populated(backend)
        var filter = AuditFilter()
        filter.keyID = keyID
        #expect(try f.vault.auditEvents(filter).map(\.action) == ["key.add", "key.reveal"])
        filter = AuditFilter()
        filter.action = "scope"
        #expect(try f.vault.auditEvents(filter).count == 3)
        filter = AuditFilter()
        filter.since = Timestamp.now().adding(seconds: 60)
        #expect(try f.vault.auditEvents(filter).isEmpty)
        filter = AuditFilter()
        filter.limit = 2
        #expect(try f.vault.auditEvents(filter).map(\.seq) == [5, 6])
    }
}

import Foundation
import GRDB
import Logging
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenTestSupport

/// The gateway's aggregated traffic: `gateway.forward` events, hourly
/// `key_traffic` counts, and the last-24-hours view of `key list` and `status`.
@Suite("Gateway traffic: forward events, hourly counts, the 24 h view")
struct GatewayTrafficTests {
    /// A vault whose clock the test sets.
    final class TrafficVault: @unchecked Sendable {
        let directory = TemporaryDirectory()
        let location: VaultLocation
        let vault: Vault
        private let clock = Clock()

        /// 2027-01-15T10:30:00Z
        static let start = Timestamp(millisecondsSince1970: 1_800_009_000_000)

        init() throws {
            location = VaultLocation(directory: directory.file("home"))
            let clock = self.clock
            let context = VaultContext(actor: AuditActor(uid: 1000, pid: 42, name: "test"), clock: { clock.time },
                                       logger: Logger(label: "test"), anchorDirectory: directory.file("state"))
            vault = try Vault.create(at: location, slots: [.keyfile(path: directory.file("vault.key"))], scopes: ["dev", "prod"], context: context)
        }

        var now: Timestamp {
            get { clock.time }
            set { clock.time = newValue }
        }

        private final class Clock: @unchecked Sendable {
            private let lock = NSLock()
            private var current = TrafficVault.start
            var time: Timestamp {
                get { lock.lock(); defer { lock.unlock() }; return current }
                set { lock.lock(); defer { lock.unlock() }; current = newValue }
            }
        }

        func add(_ value: String, scope: String = "prod") throws -> KeyInfo {
            try vault.addKey(provider: "anthropic", scope: scope, label: nil, env: nil, value: secret(value), activate: true, force: true).key
        }

        func rows() throws -> [(key: String, hour: String, ok: Int, failed: Int, rateLimited: Int, errors: Int)] {
            try DatabaseQueue(path: location.databasePath).read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM key_traffic ORDER BY hour, key_id").map {
                    ($0["key_id"], $0["hour"], $0["ok"], $0["failed"], $0["rate_limited"], $0["errors"])
                }
            }
        }

        func forwardEvents() throws -> [AuditEvent] {
            var filter = AuditFilter()
            filter.action = "gateway.forward"
            return try vault.auditEvents(filter)
        }
    }

    static let app = AuditActor(uid: 1000, pid: 4242, name: "gateway peer uid=1000 (python3)")
    static let ci = AuditActor(uid: 1001, pid: 77, name: "gateway token 'ci'")

    func count(_ key: String, _ caller: AuditActor = app, ok: Int = 0, failed: Int = 0, rateLimited: Int = 0, errors: Int = 0,
               until: Timestamp) -> GatewayTrafficCount {
        var count = GatewayTrafficCount(keyID: key, caller: caller, since: until.adding(seconds: -10), until: until)
        (count.ok, count.failed, count.rateLimited, count.errors) = (ok, failed, rateLimited, errors)
        return count
    }

    @Test("one gateway.forward event per count, naming key, fingerprint and caller; counts land in the hour of 'until'")
    func eventsAndRows() throws {
        let t = try TrafficVault()
        let key = try t.add(TestKeys.anthropic)
        let until = t.now
        try t.vault.recordGatewayTraffic([
            count(key.id, ok: 7, failed: 1, rateLimited: 2, errors: 1, until: until),
            count(key.id, Self.ci, ok: 3, until: until),
        ])
        let events = try t.forwardEvents()
        #expect(events.count == 2)
        let first = try #require(events.first)
        #expect(first.keyID == key.id && first.provider == "anthropic" && first.scope == "prod" && first.fingerprint == key.fingerprint)
        #expect(first.actor == Self.app.name && first.pid == 4242)
        #expect(first.outcome == "failed")
        #expect(first.detail == "11 requests (ok 7, failed 1, rate-limited 2, errors 1) between 2027-01-15T10:29:50.000Z and 2027-01-15T10:30:00.000Z")
        #expect(events.last?.outcome == "ok")
        #expect(events.last?.actor == Self.ci.name)
        let rows = try t.rows()
        #expect(rows.count == 1)
        #expect(rows.first?.hour == "2027-01-15T10:00:00Z")
        #expect(rows.first.map { [$0.ok, $0.failed, $0.rateLimited, $0.errors] } == [10, 1, 2, 1])
        #expect(try t.vault.verifyAudit().ok)
    }

    @Test("rate limits alone leave the event ok; errors make it failed; empty counts and removed keys write nothing")
    func outcomesAndSkips() throws {
        let t = try TrafficVault()
        let key = try t.add(TestKeys.anthropic)
        let gone = try t.add(TestKeys.anthropic2, scope: "dev")
        _ = try t.vault.removeKey(id: gone.id, force: true)
        try t.vault.recordGatewayTraffic([
            count(key.id, rateLimited: 4, until: t.now),
            count(key.id, Self.ci, errors: 1, until: t.now),
            count(key.id, until: t.now),
            count(gone.id, ok: 5, until: t.now),
            count("k_never", ok: 5, until: t.now),
        ])
        #expect(try t.forwardEvents().map(\.outcome) == ["ok", "failed"])
        #expect(try t.rows().map(\.key) == [key.id])
        #expect(try t.vault.listKeys(KeyFilter()).first?.traffic24h == KeyTraffic(rateLimited: 4, errors: 1))

        let before = try t.vault.auditEvents(AuditFilter()).count
        try t.vault.recordGatewayTraffic([count(key.id, until: t.now)])
        try t.vault.recordGatewayTraffic([])
        #expect(try t.vault.auditEvents(AuditFilter()).count == before)
    }

    @Test("key list sums the last 24 hours per key (the hour 24 h ago included); status sums every key")
    func window() throws {
        let t = try TrafficVault()
        let a = try t.add(TestKeys.anthropic)
        let b = try t.add(TestKeys.openai, scope: "dev")
        let idle = try t.add(TestKeys.anthropic2, scope: "dev")
        let start = TrafficVault.start
        try t.vault.recordGatewayTraffic([count(a.id, ok: 100, until: start)])                         // 10:xx day 0
        t.now = start.adding(seconds: 3600)
        try t.vault.recordGatewayTraffic([count(a.id, ok: 5, failed: 2, until: t.now), count(b.id, rateLimited: 3, until: t.now)])
        #expect(try t.rows().count == 3)

        // At 10:45 the next day the hour 24 h ago (10:00 of day 0) still counts; an hour later it does not.
        t.now = start.adding(seconds: 24 * 3600 + 900)
        #expect(try t.vault.listKeys(KeyFilter()).first { $0.id == a.id }?.traffic24h == KeyTraffic(ok: 105, failed: 2))
        t.now = start.adding(seconds: 25 * 3600 + 900)
        let keys = try t.vault.listKeys(KeyFilter())
        #expect(keys.first { $0.id == a.id }?.traffic24h == KeyTraffic(ok: 5, failed: 2))
        #expect(keys.first { $0.id == b.id }?.traffic24h == KeyTraffic(rateLimited: 3))
        #expect(keys.first { $0.id == idle.id }?.traffic24h == nil)
        #expect(try t.vault.listKeys(KeyFilter(scope: "dev")).compactMap(\.traffic24h) == [KeyTraffic(rateLimited: 3)])
        #expect(try t.vault.gatewayTraffic24h() == KeyTraffic(ok: 5, failed: 2, rateLimited: 3))
        #expect(try t.vault.status().gatewayTraffic24h == KeyTraffic(ok: 5, failed: 2, rateLimited: 3))

        t.now = start.adding(seconds: 3 * 24 * 3600)
        #expect(try t.vault.gatewayTraffic24h() == nil)
        #expect(try t.vault.status().gatewayTraffic24h == nil)
        #expect(try t.vault.listKeys(KeyFilter()).allSatisfy { $0.traffic24h == nil })
    }

    @Test("rows older than 7 days are pruned when new counts are written; a removed key's rows go with it")
    func pruning() throws {
        let t = try TrafficVault()
        let a = try t.add(TestKeys.anthropic)
        let b = try t.add(TestKeys.anthropic2, scope: "dev")
        try t.vault.recordGatewayTraffic([count(a.id, ok: 1, until: t.now), count(b.id, ok: 1, until: t.now)])
        t.now = TrafficVault.start.adding(seconds: 6 * 24 * 3600)
        try t.vault.recordGatewayTraffic([count(a.id, ok: 1, until: t.now)])
        #expect(try t.rows().count == 3)
        t.now = TrafficVault.start.adding(seconds: 7 * 24 * 3600 + 3600)
        try t.vault.recordGatewayTraffic([count(a.id, ok: 1, until: t.now)])
        #expect(try t.rows().map(\.hour) == ["2027-01-21T10:00:00Z", "2027-01-22T11:00:00Z"])
        _ = try t.vault.removeKey(id: a.id, force: true)
        #expect(try t.rows().isEmpty)
    }

    @Test("KeyInfo carries traffic_24h over the wire, and leaves it out when there is none")
    func wireForm() throws {
        let t = try TrafficVault()
        let key = try t.add(TestKeys.anthropic)
        let quiet = String(decoding: try JSONEncoder().encode(try t.vault.listKeys(KeyFilter())), as: UTF8.self)
        #expect(!quiet.contains("traffic_24h"))
        try t.vault.recordGatewayTraffic([count(key.id, ok: 2, failed: 1, rateLimited: 3, errors: 4, until: t.now)])
        let listed = try t.vault.listKeys(KeyFilter())
        let data = try JSONEncoder().encode(listed)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let traffic = try #require(object.first?["traffic_24h"] as? [String: Int])
        #expect(traffic == ["ok": 2, "failed": 1, "rate_limited": 3, "errors": 4])
        #expect(try JSONDecoder().decode([KeyInfo].self, from: data) == listed)
        let status = String(decoding: try JSONEncoder().encode(try t.vault.status()), as: UTF8.self)
        #expect(status.contains(#""gateway_traffic_24h":{"#), "\(status)")
    }

    @Test("an hour starts on the hour, also before 1970")
    func startOfHour() {
        #expect(Timestamp(millisecondsSince1970: 1_800_009_000_000).startOfHour.iso8601 == "2027-01-15T10:00:00.000Z")
        #expect(Timestamp(millisecondsSince1970: 3_600_000).startOfHour.millisecondsSince1970 == 3_600_000)
        #expect(Timestamp(millisecondsSince1970: -1).startOfHour.millisecondsSince1970 == -3_600_000)
        #expect(SQLiteTransaction.hourText(Timestamp(millisecondsSince1970: 1_800_009_999_999)) == "2027-01-15T10:00:00Z")
    }
}

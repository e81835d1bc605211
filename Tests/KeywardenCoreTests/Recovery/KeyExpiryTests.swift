import Foundation
import Testing
@testable import KeywardenCore

@Suite("Key expiry: --expires, status warnings, rotation before expiry", .serialized)
struct KeyExpiryTests {
    @Test("--expires reads a duration or a UTC date; a past or unreadable one is refused and nothing is stored")
    func parsing() throws {
        let now = Timestamp(iso8601: "2027-01-15T08:00:00Z")!
        #expect(try KeyExpiry.parse("90d", now: now) == now.adding(seconds: 90 * 86400))
        #expect(try KeyExpiry.parse("2027-03-01", now: now) == Timestamp(iso8601: "2027-03-01T00:00:00Z"))
        #expect(try KeyExpiry.parse("2027-03-01T12:30:00Z", now: now) == Timestamp(iso8601: "2027-03-01T12:30:00Z"))
        for (bad, says) in [("soon", "use a duration from now"), ("2026-01-01", "has already passed"), ("0d", "use a duration"), ("", "use a duration")] {
            let error = #expect(throws: KeywardenError.self) { try KeyExpiry.parse(bad, now: now) }
            #expect(error?.kind == .invalidInput)
            #expect(error?.message.contains("--expires '\(bad)'") == true && error?.message.contains(says) == true, "\(error?.message ?? "")")
        }
    }

    @Test("a key's expiry is stored and listed; status warns 7 days ahead and says when it has expired", arguments: TestBackend.available)
    func statusWarns(backend: TestBackend) async throws {
        let f = try await RecoveryFixture(backend)
        let alpha = try f.add("alpha", expires: "30d")
        let added = f.clock.now
        let bravo = try f.add("bravo")
        #expect(try f.key(alpha).expires == added.adding(seconds: 30 * 86400))
        #expect(try f.key(bravo).expires == nil)
        #expect(try f.vault.listKeys(KeyFilter()).first { $0.id == alpha }?.expires != nil)
        let error = #expect(throws: KeywardenError.self) { try f.add("charlie", expires: "yesterday") }
        #expect(error?.kind == .invalidInput)
        #expect(try f.vault.listKeys(KeyFilter()).count == 2, "nothing was stored")

        #expect(try f.vault.status().expiring == nil)
        f.clock.advance(seconds: 23 * 86400 + 1)
        let soon = try #require(try f.vault.status().expiring)
        #expect(soon.map(\.id) == [alpha] && soon[0].expired == false)
        f.clock.advance(seconds: 7 * 86400)
        let gone = try #require(try f.vault.status().expiring)
        #expect(gone[0].expired)

        // The seam for a provider's word: set, audited, cleared.
        _ = try f.vault.setKeyExpiry(id: alpha, expires: nil, source: "test")
        #expect(try f.vault.status().expiring == nil)
        #expect(try f.events("key.expiry").count == 1)
    }

    @Test("rotate --due rotates a pool with a policy 7 days before its active key expires, or its grace before when longer", arguments: TestBackend.available)
    func rotatesBeforeExpiry(backend: TestBackend) async throws {
        let f = try await RecoveryFixture(backend)
        _ = try f.add("alpha", expires: "60d")
        _ = try f.add("bravo")
        let rotator = Rotator(vault: f.vault, validator: f.validator)
        #expect(try rotator.duePools(now: f.clock.now).isEmpty, "no policy, no rotation")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(grace: DurationSpec(seconds: 14 * 86400)))
        #expect(try rotator.duePools(now: f.clock.now).isEmpty)
        f.clock.advance(seconds: 46 * 86400 + 1)
        #expect(try rotator.duePools(now: f.clock.now).map(\.scope) == ["prod"], "the grace (14 days) is longer than 7 days")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(grace: DurationSpec(seconds: 86400)))
        #expect(try rotator.duePools(now: f.clock.now).isEmpty)
        f.clock.advance(seconds: 7 * 86400)
        #expect(try rotator.duePools(now: f.clock.now).map(\.scope) == ["prod"])
        let reports = try await rotator.execute(try rotator.plan(.due, reexport: false))
        #expect(reports.map(\.result) == ["rotated"])
        #expect(try rotator.duePools(now: f.clock.now).isEmpty, "the new active key has no expiry")
    }
}

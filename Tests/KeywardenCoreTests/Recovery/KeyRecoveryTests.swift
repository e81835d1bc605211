import Foundation
import Logging
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenMockProvider
import KeywardenTestSupport

/// A vault on either backend with a clock the test moves, and the mock
/// provider playing Anthropic. Keys are named by a marker word (`alpha`,
/// `bravo`) whose answer the test changes at run time (`setScenario`).
final class RecoveryFixture: @unchecked Sendable {
    let base: VaultFixture
    let clock = TestClock()
    let vault: Vault
    let mock: MockProviderServer
    let validator = Validator(client: ProbeClient(proxies: ProxySettings(environment: [:])), timeout: .seconds(30), sleep: { _ in })

    init(_ backend: TestBackend) async throws {
        base = try VaultFixture(backend: backend)
        mock = try await MockProviderServer.start()
        vault = try Self.unlock(base, clock)
        _ = try vault.updateProvider("anthropic", baseURL: mock.baseURL(for: "anthropic"), env: nil)
    }

    /// The vault opened as a new process (an agent restarted) would, on the same clock.
    static func unlock(_ base: VaultFixture, _ clock: TestClock) throws -> Vault {
        let context = VaultContext(actor: AuditActor(uid: 1000, pid: 42, name: "test"), clock: { clock.now }, logger: Logger(label: "test"),
                                   anchorDirectory: base.anchorDirectory)
        return try Vault.unlock(base.open(), with: .keyfile(path: base.keyfile), context: context)
    }

    var recovery: KeyRecovery { KeyRecovery(vault: vault, validator: validator) }

    /// Adds a key a second after the last one, so that "the oldest standby" is well defined.
    func add(_ marker: String, activate: Bool = false, expires: String? = nil) throws -> String {
        clock.advance(seconds: 1)
        return try vault.addKey(provider: "anthropic", scope: "prod", label: marker, env: nil,
                         value: SecureBytes(copying: Array("sk-ant-api03-\(marker)-\(String(repeating: "x", count: 40))".utf8)),
                         activate: activate, force: true, expires: expires).key.id
    }

    func key(_ id: String) throws -> KeyInfo { try vault.key(id: id) }

    func failover() throws {
        _ = try vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(failover: true))
    }

    /// What a client's report of `status` does to the active key `id`.
    func report(_ id: String, status: Int) throws -> [ReportResult] {
        try vault.report(KeyReport(keyID: id, status: status), by: AuditActor(uid: 1000, pid: 7, name: "client"))
    }

    func events(_ action: String) throws -> [AuditEvent] {
        var filter = AuditFilter()
        filter.action = action
        return try vault.auditEvents(filter)
    }
}

@Suite("Recovery probes: failed keys that heal, keys that need a person, networks that blame no key", .serialized)
struct KeyRecoveryTests {
    @Test("a rate-limited key comes back after its cooldown; it is not probed before its time", arguments: TestBackend.available)
    func rateLimitedComesBack(backend: TestBackend) async throws {
        let f = try await RecoveryFixture(backend)
        let alpha = try f.add("alpha")
        let bravo = try f.add("bravo")
        f.mock.setScenario(forKeyContaining: "bravo", "ratelimited")
        // The rotation's test finds the standby rate limited: it fails, for a reason that passes.
        let report = try await Rotator(vault: f.vault, validator: f.validator).rotate(provider: "anthropic", scope: "prod", trigger: "manual")
        #expect(report.result == "failed")
        var key = try f.key(bravo)
        #expect(key.state == .failed && key.failedBecause == "rate_limited" && key.probeAttempts == 0)
        #expect(key.nextProbeAt == f.clock.now.adding(seconds: 60))

        f.clock.advance(seconds: 30)
        let requests = f.mock.requests(withKeyContaining: "bravo")
        #expect(try await f.recovery.probeDue().isEmpty, "not due yet")
        #expect(f.mock.requests(withKeyContaining: "bravo") == requests, "no request before its time")

        f.clock.advance(seconds: 31)
        let still = try await f.recovery.probeDue()
        #expect(still.map(\.result) == ["still_failed"])
        key = try f.key(bravo)
        #expect(key.state == .failed && key.probeAttempts == 1 && key.nextProbeAt == f.clock.now.adding(seconds: 120))

        f.mock.setScenario(forKeyContaining: "bravo", nil)  // the limit has passed
        f.clock.advance(seconds: 120)
        let back = try await f.recovery.probeDue()
        #expect(back.map(\.result) == ["recovered"])
        key = try f.key(bravo)
        #expect(key.state == .standby, "alpha is still active, so bravo is standby")
        #expect(key.failedBecause == nil && key.nextProbeAt == nil && key.probeAttempts == nil)
        #expect(try f.key(alpha).state == .active)
        let recovered = try f.events("key.recovered")
        #expect(recovered.count == 1 && recovered[0].keyID == bravo)
    }

    @Test("an out-of-credit key comes back when its balance is restored: standby, or active when its pool has none", arguments: TestBackend.available)
    func noCreditComesBack(backend: TestBackend) async throws {
        let f = try await RecoveryFixture(backend)
        let alpha = try f.add("alpha")
        let bravo = try f.add("bravo")
        try f.failover()
        f.mock.setScenario(forKeyContaining: "alpha", "nocredit")
        let results = try f.report(alpha, status: 402)
        #expect(results.first?.replacedBy == bravo)
        #expect(try f.key(alpha).failedBecause == "no_credit")

        // Still out of credit at the first probe.
        f.clock.advance(seconds: 61)
        #expect(try await f.recovery.probeDue().map(\.result) == ["still_failed"])

        f.mock.setScenario(forKeyContaining: "alpha", nil)  // topped up
        _ = try f.vault.removeKey(id: bravo, force: true)  // the pool is left without an active key
        f.clock.advance(seconds: 121)
        let back = try await f.recovery.probeDue()
        #expect(back.map(\.result) == ["recovered"])
        #expect(try f.key(alpha).state == .active, "its pool had no active key")
    }

    @Test("an invalid key stays failed and is never probed on its own; key check brings it back once fixed at the provider", arguments: TestBackend.available)
    func invalidStaysFailed(backend: TestBackend) async throws {
        let f = try await RecoveryFixture(backend)
        let alpha = try f.add("alpha")
        _ = try f.add("bravo")
        try f.failover()
        f.mock.setScenario(forKeyContaining: "alpha", "invalid")
        _ = try f.report(alpha, status: 401)
        var key = try f.key(alpha)
        #expect(key.state == .failed && key.failedBecause == "invalid" && key.nextProbeAt == nil)

        f.mock.setScenario(forKeyContaining: "alpha", nil)  // it would pass now, but nobody asked
        f.clock.advance(seconds: 30 * 86400)
        let requests = f.mock.requests(withKeyContaining: "alpha")
        #expect(try await f.recovery.probeDue().isEmpty)
        #expect(f.mock.requests(withKeyContaining: "alpha") == requests, "an invalid key is never probed on its own")
        #expect(try f.key(alpha).state == .failed)

        // A person checks it while it is still bad: it stays failed.
        f.mock.setScenario(forKeyContaining: "alpha", "invalid")
        let stillBad = try await f.recovery.check(keyID: alpha)
        #expect(stillBad.result == "needs_person" && stillBad.state == .failed)

        // Fixed at the provider, then checked.
        f.mock.setScenario(forKeyContaining: "alpha", nil)
        let fixed = try await f.recovery.check(keyID: alpha)
        #expect(fixed.result == "recovered" && fixed.state == .standby)
        key = try f.key(alpha)
        #expect(key.state == .standby && key.failedBecause == nil)
        #expect(try f.events("key.recovered").count == 1)

        // A key that is not failed is checked and left as it is.
        let active = try await f.recovery.check(keyID: try f.vault.listKeys(KeyFilter(state: .active))[0].id)
        #expect(active.result == "checked" && active.state == .active)
    }

    @Test("a DNS failure changes no key state anywhere and is recorded as a network incident", arguments: TestBackend.available)
    func dnsFailureBlamesNoKey(backend: TestBackend) async throws {
        let f = try await RecoveryFixture(backend)
        let alpha = try f.add("alpha")
        let bravo = try f.add("bravo")
        let charlie = try f.add("charlie")
        try f.failover()
        _ = try f.report(alpha, status: 402)  // alpha fails for no credit; bravo takes over
        #expect(try f.key(bravo).state == .active)
        _ = try f.vault.updateProvider("anthropic", baseURL: "https://nonexistent.invalid", env: nil)

        // validate: no failover, no state change.
        let keys = try f.vault.keysToCheck(ValidationSelection(provider: "anthropic"))
        let checks = await f.validator.check(keys)
        #expect(checks.allSatisfy { $0.outcome == .dnsError }, "\(checks.map(\.outcome))")
        try f.vault.recordChecks(checks, by: "validate")
        #expect(try f.vault.failover(after: checks).isEmpty)
        #expect(try f.key(bravo).state == .active)
        #expect(try f.key(charlie).state == .standby)

        // A rotation whose test meets DNS trouble: the standby is not blamed.
        let rotation = try await Rotator(vault: f.vault, validator: f.validator).rotate(provider: "anthropic", scope: "prod", trigger: "manual")
        #expect(rotation.result == "failed")
        #expect(try f.key(charlie).state == .standby)
        #expect(try f.key(bravo).state == .active)

        // A recovery probe that meets DNS trouble: the failed key waits longer, nothing else.
        f.clock.advance(seconds: 61)
        let probed = try await f.recovery.probeDue()
        #expect(probed.map(\.result) == ["still_failed"])
        let failed = try f.key(alpha)
        #expect(failed.state == .failed && failed.failedBecause == "no_credit" && failed.probeAttempts == 1)

        // Every one of them is an incident, with doctor's verdict line.
        let incidents = try f.vault.recentNetworkIncidents()
        #expect(incidents.count == checks.count + 2, "\(incidents.map(\.source))")
        #expect(incidents.allSatisfy { $0.outcome == .dnsError && $0.verdict.hasPrefix("FAILED at DNS") && $0.provider == "anthropic" })
        #expect(Set(incidents.map(\.source)) == ["validate", "rotate", "recovery"])
        #expect(incidents.first?.keyID == alpha, "newest first")
        let status = try f.vault.status()
        #expect(status.networkIncidents?.count == incidents.count)

        // A day later status no longer shows them.
        f.clock.advance(seconds: 86400 + 1)
        #expect(try f.vault.status().networkIncidents == nil)
    }

    @Test("the backoff doubles from a minute and stops at its maximum, probe after probe")
    func backoffGrowsAndCaps() async throws {
        let backoff = RecoveryBackoff(maximum: DurationSpec(seconds: 600))
        #expect((0...6).map { backoff.delay(afterAttempts: $0) } == [60, 120, 240, 480, 600, 600, 600])
        #expect(backoff.delay(afterAttempts: 1000) == 600)
        #expect(RecoveryBackoff().delay(afterAttempts: 100) == 6 * 3600)
        #expect(try RecoveryBackoff.option("off") == nil)
        #expect(try RecoveryBackoff.option("2h")?.maximum.seconds == 7200)
        for bad in ["30s", "forever", "-1h", "31d"] {
            let error = #expect(throws: KeywardenError.self) { try RecoveryBackoff.option(bad) }
            #expect(error?.message.contains("--recovery-max-backoff '\(bad)'") == true, "\(error?.message ?? "")")
        }

        let f = try await RecoveryFixture(.sqlite)
        _ = try f.add("alpha")
        let bravo = try f.add("bravo")
        f.mock.setScenario(forKeyContaining: "bravo", "overloaded")
        _ = try await Rotator(vault: f.vault, validator: f.validator).rotate(provider: "anthropic", scope: "prod", trigger: "manual")
        #expect(try f.key(bravo).failedBecause == "provider_error")
        let recovery = KeyRecovery(vault: f.vault, validator: f.validator, backoff: backoff)
        var gaps: [Int64] = []
        var next = try #require(try f.key(bravo).nextProbeAt)
        for _ in 0..<6 {
            f.clock.advance(seconds: (next.millisecondsSince1970 - f.clock.now.millisecondsSince1970) / 1000)
            #expect(try await recovery.probeDue().map(\.result) == ["still_failed"])
            let after = try #require(try f.key(bravo).nextProbeAt)
            gaps.append((after.millisecondsSince1970 - f.clock.now.millisecondsSince1970) / 1000)
            next = after
        }
        #expect(gaps == [120, 240, 480, 600, 600, 600])
        #expect(try f.key(bravo).probeAttempts == 6)
    }

    @Test("the backoff survives a restart and is covered by the row MAC", arguments: TestBackend.available)
    func stateSurvivesRestart(backend: TestBackend) async throws {
        let f = try await RecoveryFixture(backend)
        let alpha = try f.add("alpha")
        _ = try f.add("bravo")
        try f.failover()
        f.mock.setScenario(forKeyContaining: "alpha", "nocredit")
        _ = try f.report(alpha, status: 402)
        f.clock.advance(seconds: 61)
        _ = try await f.recovery.probeDue()
        let before = try f.key(alpha)
        #expect(before.probeAttempts == 1)

        // A new process (the agent restarted) sees the same plan, and probes when it is due.
        let reopened = try RecoveryFixture.unlock(f.base, f.clock)
        let after = try reopened.key(id: alpha)
        #expect(after.failedBecause == "no_credit" && after.probeAttempts == 1 && after.nextProbeAt == before.nextProbeAt)
        f.mock.setScenario(forKeyContaining: "alpha", nil)
        f.clock.advance(seconds: 120)
        let back = try await KeyRecovery(vault: reopened, validator: f.validator).probeDue()
        #expect(back.map(\.result) == ["recovered"])

        // Someone with write access to the database but no key cannot plan a probe.
        let id = try f.add("charlie")
        try f.base.execute("UPDATE keys SET failed_because = 'no_credit', next_probe_at = '2020-01-01T00:00:00.000Z' WHERE id = '\(id)'")
        let error = #expect(throws: KeywardenError.self) { try reopened.key(id: id) }
        #expect(error?.kind == .integrity)
    }
}

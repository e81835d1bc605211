import Foundation
import GRDB
import Logging
import NIOCore
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenMockProvider
import KeywardenTestSupport

/// A clock tests move forward by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Timestamp(millisecondsSince1970: 1_800_000_000_000)
    var now: Timestamp { lock.lock(); defer { lock.unlock() }; return current }
    func advance(seconds: Int64) { lock.lock(); current = current.adding(seconds: seconds); lock.unlock() }
}

@Suite("Rotation: the four steps, policies, grace, failover", .serialized)
struct RotationTests {
    struct Fixture {
        let directory = TemporaryDirectory()
        let clock = TestClock()
        let vault: Vault
        let mock: MockProviderServer
        var rotator: Rotator

        init() async throws {
            mock = try await MockProviderServer.start()
            let clock = self.clock
            let context = VaultContext(actor: AuditActor(uid: 1, pid: 1, name: "test"), clock: { clock.now }, logger: Logger(label: "test"))
            vault = try Vault.create(at: VaultLocation(directory: directory.file("v")), slots: [.keyfile(path: directory.file("k"))], scopes: ["prod"], context: context)
            _ = try vault.updateProvider("anthropic", baseURL: mock.baseURL(for: "anthropic"), env: nil)
            let validator = Validator(client: ProbeClient(proxies: ProxySettings(environment: [:])), timeout: .seconds(60), sleep: { _ in })
            rotator = Rotator(vault: vault, validator: validator)
        }

        func add(_ words: String, activate: Bool = false) throws -> String {
            try vault.addKey(provider: "anthropic", scope: "prod", label: words, env: nil,
                             value: SecureBytes(copying: Array("sk-ant-api03-\(words)-\(String(repeating: "x", count: 40))".utf8)),
                             activate: activate, force: true).key.id
        }

        func state(_ id: String) throws -> KeyState { try vault.key(id: id).state }

        /// What a crash right after a rotation's set step leaves behind:
        /// the rotation at its test step and the new key pending.
        func leaveRotationCrashedAfterSet(old: String, new: String) throws {
            try vault.write { tx in
                try tx.insert(RotationRecord(id: "r_crashed", provider: "anthropic", scope: "prod", oldKeyId: old, newKeyId: new, trigger: .manual,
                                             step: .test, startedAt: vault.now, updatedAt: vault.now, detail: nil))
                var key = try #require(try tx.key(id: new))
                key.state = .pending
                try tx.update(key)
            }
        }

        func activeCount() throws -> Int { try vault.listKeys(KeyFilter(state: .active)).count }
    }

    @Test("a policy comes due, the standby is tested and promoted, the old key retires, then is revoked when grace ends")
    func dueAndGrace() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        let standby = try f.add("valid-two")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(every: .some(DurationSpec(seconds: 30 * 86400)), grace: DurationSpec(seconds: 86400)))
        #expect(try f.rotator.duePools(now: f.clock.now).isEmpty)
        f.clock.advance(seconds: 30 * 86400 + 1)
        let due = try f.rotator.duePools(now: f.clock.now)
        #expect(due.map(\.provider) == ["anthropic"])
        let report = try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "due")
        #expect(report.result == "rotated", "\(report.detail)")
        #expect(try f.state(standby) == .active)
        #expect(try f.state(old) == .retiring)
        #expect(try f.activeCount() == 1)
        #expect(try await f.rotator.retireExpired(now: f.clock.now).isEmpty, "grace is honoured")
        f.clock.advance(seconds: 86400 + 1)
        let revoked = try await f.rotator.retireExpired(now: f.clock.now)
        #expect(revoked.map(\.oldKey) == [old])
        #expect(try f.state(old) == .revoked)
        #expect(try f.vault.verifyAudit().ok)
        await f.mock.shutdown()
    }

    @Test("a new key that fails its test is marked failed; the old key stays active")
    func failedTest() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        let bad = try f.add("invalid-two")
        let report = try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual")
        #expect(report.result == "failed")
        #expect(try f.state(old) == .active)
        #expect(try f.state(bad) == .failed)
        #expect(try f.activeCount() == 1)
        await f.mock.shutdown()
    }

    @Test("the rotate command's key is stored, tested and promoted; a hanging command times out and changes nothing")
    func commands() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        let script = f.directory.file("new-key.sh")
        try Data("#!/bin/sh\n[ \"$KEYWARDEN_OLD_KEY_ID\" = \"\(old)\" ] || exit 3\necho sk-ant-api03-valid-from-command-\(String(repeating: "c", count: 40))\n".utf8)
            .write(to: URL(fileURLWithPath: script))
        chmod(script, 0o700)
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(command: .some(script)))
        let report = try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual")
        #expect(report.result == "rotated", "\(report.detail)")
        let active = try f.vault.listKeys(KeyFilter(state: .active))
        #expect(active.count == 1)
        #expect(active[0].id != old)
        #expect(try f.state(old) == .retiring)

        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(command: .some("sleep 30; echo never"), commandTimeout: DurationSpec(seconds: 1)))
        let started = Date()
        let hung = try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual")
        #expect(hung.result == "failed")
        #expect(hung.detail.contains("did not finish within 1s"))
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try f.activeCount() == 1)
        #expect(try f.vault.listKeys(KeyFilter(state: .active))[0].id == active[0].id)
        await f.mock.shutdown()
    }

    @Test("failover: a reported 401 promotes the healthy standby when the policy allows it, not otherwise")
    func failover() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        let standby = try f.add("valid-two")
        _ = try f.vault.report(KeyReport(keyID: old, status: 401), by: f.vault.context.actor)
        #expect(try f.state(old) == .active, "failover is off by default")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(failover: true))
        let results = try f.vault.report(KeyReport(keyID: old, status: 401, detail: "invalid x-api-key"), by: f.vault.context.actor)
        #expect(results[0].replacedBy == standby)
        #expect(try f.state(old) == .failed)
        #expect(try f.state(standby) == .active)
        let events = try f.vault.auditEvents({ var a = AuditFilter(); a.action = "key.failover"; return a }())
        #expect(events.first?.detail?.contains("\(standby) replaced \(old)") == true)
        await f.mock.shutdown()
    }

    @Test("a parent scope's policy applies to its children unless they set their own")
    func inheritedPolicy() async throws {
        let f = try await Fixture()
        _ = try f.vault.addScope("prod/eu", parent: "prod")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(every: .some(DurationSpec(seconds: 86400)), failover: true))
        #expect(try f.vault.rotationPolicy(provider: "anthropic", scope: "prod/eu")?.inheritedBy == "prod/eu")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod/eu", RotationPolicyChange(failover: false))
        #expect(try f.vault.rotationPolicy(provider: "anthropic", scope: "prod/eu")?.failover == false)
        await f.mock.shutdown()
    }

    @Test("when grace ends, the revoke command gets the old key on stdin, never in argv")
    func revokeCommand() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        _ = try f.add("valid-two")
        let received = f.directory.file("revoked.txt")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(grace: DurationSpec(seconds: 60),
                                                                                                   revokeCommand: .some("cat > '\(received)'; echo \"$KEYWARDEN_KEY_ID\" >> '\(received)'")))
        #expect(try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual").result == "rotated")
        f.clock.advance(seconds: 61)
        let reports = try await f.rotator.retireExpired(now: f.clock.now)
        #expect(reports.first?.detail.contains("revoke command succeeded") == true)
        let text = try String(contentsOfFile: received, encoding: .utf8)
        #expect(text.hasPrefix("sk-ant-api03-valid-one-"))
        #expect(text.contains(old))
        #expect(try f.state(old) == .revoked)
        await f.mock.shutdown()
    }

    @Test("a validation that finds the active key invalid fails over to a healthy standby when the policy says so")
    func failoverAfterValidation() async throws {
        let f = try await Fixture()
        let bad = try f.add("invalid-one")
        let spare = try f.add("valid-two")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(failover: true))
        let checks = await f.rotator.validator.check(try f.vault.keysToCheck(ValidationSelection(provider: "anthropic")))
        try f.vault.recordChecks(checks, by: "test")
        let results = try f.vault.failover(after: checks)
        #expect(results.map(\.replacedBy) == [spare])
        #expect(try f.state(bad) == .failed)
        #expect(try f.state(spare) == .active)
        await f.mock.shutdown()
    }
}

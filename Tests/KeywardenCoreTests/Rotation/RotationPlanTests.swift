import Foundation
import GRDB
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenTestSupport

/// Issue 16 (rotation) and issue 9 items 6 and 18: one plan for the dry run
/// and the real run, re-export on every change of the active key, a single
/// rotation after a resume, checked command output, `key rm` of the active
/// key, redaction of command stderr, bounded waits.
@Suite("Rotation: plan, dry run, re-export, command checks, key removal, redaction, time limits", .serialized)
struct RotationPlanTests {
    typealias Fixture = RotationTests.Fixture

    /// The part of a report the dry run and the real run must agree on.
    struct Change: Equatable, CustomStringConvertible {
        var result: String, provider: String, scope: String, old: String?, new: String?, path: String?
        init(_ r: RotationReport) {
            result = r.result.hasPrefix("would ") ? String(r.result.dropFirst(6)) : r.result
            if result == "re-export" { result = "re-exported" }
            if result == "rotate" { result = "rotated" }
            if result == "revoke" { result = "revoked" }
            provider = r.provider
            scope = r.scope
            old = r.oldKey
            new = r.newKey
            path = r.path
        }
        var description: String { "\(result) \(provider)/\(scope) \(old ?? "-")→\(new ?? "-") \(path ?? "")" }
    }

    func value(_ words: String) -> String { "sk-ant-api03-\(words)-\(String(repeating: "x", count: 40))" }

    @Test("16.1: the dry run lists every change the real run makes — revocation at grace end, due rotation, re-export — and the real run makes exactly those")
    func dryRunListsEverything() async throws {
        let f = try await Fixture()
        let first = try f.add("valid-one")
        let standbys = [try f.add("valid-two"), try f.add("valid-three")]
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod",
                                          RotationPolicyChange(every: .some(DurationSpec(seconds: 30 * 86400)), grace: DurationSpec(seconds: 86400)))
        let file = f.directory.file("prod.env")
        _ = try f.vault.resolveEnvironment(scope: "prod")
        try f.vault.rememberExport(path: file, scope: "prod", format: .dotenv, only: nil)

        // Only a revocation is due: today's dry run said "Nothing is due".
        #expect(try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual").result == "rotated")
        // The standbys were added at the same instant: either may go first.
        let second = try f.vault.listKeys(KeyFilter(state: .active))[0].id
        let third = standbys.first { $0 != second }!
        f.clock.advance(seconds: 86400 + 1)
        let onlyRevocation = try f.rotator.plan(.due, reexport: true)
        #expect(onlyRevocation.preview.map(\.result) == ["would re-export", "would revoke"], "\(onlyRevocation.preview.map(\.detail))")
        #expect(onlyRevocation.preview.last?.oldKey == first)

        // Later: the active key is due as well, and the revocation still waits.
        f.clock.advance(seconds: 30 * 86400)
        let plan = try f.rotator.plan(.due, reexport: true)
        let preview = plan.preview.map(Change.init)
        #expect(preview.map(\.result) == ["rotated", "re-exported", "revoked"], "\(preview)")
        #expect(preview[0].old == second && preview[0].new == third)
        #expect(preview[1].path == file)
        #expect(preview[2].old == first)
        #expect(try f.state(first) == .retiring && f.state(second) == .active, "a dry run changes nothing")

        let done = try await f.rotator.execute(plan)
        #expect(done.map(Change.init) == preview, "the real run does exactly what the dry run listed")
        #expect(try f.state(first) == .revoked)
        #expect(try f.state(second) == .retiring)
        #expect(try f.state(third) == .active)
        let written = try String(contentsOfFile: file, encoding: .utf8)
        #expect(written.contains(value(third == standbys[1] ? "valid-three" : "valid-two")))
        #expect(try f.rotator.plan(.due, reexport: true).steps.isEmpty, "nothing is left to do")
        await f.mock.shutdown()
    }

    @Test("16.1: interrupted rotations are in the dry run too (resume or roll back)")
    func dryRunListsRecovery() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        let spare = try f.add("valid-two")
        // What a crash after the set step leaves behind.
        try f.leaveRotationCrashedAfterSet(old: old, new: spare)
        let plan = try f.rotator.plan(.due, reexport: false)
        #expect(plan.preview.map(\.result) == ["would resume"])
        #expect(plan.preview.first?.newKey == spare)
        await f.mock.shutdown()
    }

    @Test("16.3: revoking a key at the end of its grace rewrites the files that still hold it, before the revoke command runs")
    func reexportOnRevocation() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        _ = try f.add("valid-two")
        let file = f.directory.file("prod.env")
        let seen = f.directory.file("seen-by-revoke.txt")
        // The revoke command records what the file held when it ran.
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod",
                                          RotationPolicyChange(grace: DurationSpec(seconds: 60), revokeCommand: .some("cat >/dev/null; cat '\(file)' > '\(seen)'")))
        try f.vault.rememberExport(path: file, scope: "prod", format: .dotenv, only: nil)
        try f.vault.reexport(path: file, reason: "test setup")
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains(value("valid-one")))
        // Rotated without --reexport (or by the agent's scheduler): the file keeps the old key.
        #expect(try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual").result == "rotated")
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains(value("valid-one")))

        f.clock.advance(seconds: 61)
        let reports = try await f.rotator.execute(try f.rotator.plan(.due, reexport: true))
        #expect(reports.map(\.result) == ["re-exported", "revoked"], "\(reports.map(\.detail))")
        #expect(reports[0].detail.contains("before the revocation in anthropic/prod"))
        #expect(try f.state(old) == .revoked)
        let now = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!now.contains(value("valid-one")) && now.contains(value("valid-two")))
        let atRevocation = try String(contentsOfFile: seen, encoding: .utf8)
        #expect(!atRevocation.contains(value("valid-one")), "the file was rewritten before the key was revoked upstream")
        await f.mock.shutdown()
    }

    @Test("16.4: a resumed rotation is the pool's rotation for the run; a manual call does not start a second one")
    func resumeIsTheRotation() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        let spare = try f.add("valid-two")
        let other = try f.add("valid-three")
        try f.leaveRotationCrashedAfterSet(old: old, new: spare)
        let plan = try f.rotator.plan(.pool(provider: "anthropic", scope: "prod"), reexport: false)
        #expect(plan.preview.map(\.result) == ["would resume"])
        let reports = try await f.rotator.execute(plan)
        #expect(reports.map(\.result) == ["rotated"])
        #expect(try f.state(spare) == .active)
        #expect(try f.state(old) == .retiring)
        #expect(try f.state(other) == .standby, "no second rotation")
        // A rolled-back rotation did nothing, so the call still rotates.
        try f.vault.write { tx in
            try tx.insert(RotationRecord(id: "r_early", provider: "anthropic", scope: "prod", oldKeyId: spare, newKeyId: nil, trigger: .manual,
                                         step: .create, startedAt: f.vault.now, updatedAt: f.vault.now, detail: nil))
        }
        let again = try await f.rotator.execute(try f.rotator.plan(.pool(provider: "anthropic", scope: "prod"), reexport: false))
        #expect(again.map(\.result) == ["rolled back", "rotated"])
        #expect(try f.state(other) == .active)
        #expect(try f.activeCount() == 1)
        await f.mock.shutdown()
    }

    @Test("16.5: a rotate command's output that is not in the provider's key format is reported without the value, and nothing is stored")
    func commandOutputFormat() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(command: .some("echo oops-not-a-key")))
        let before = try f.vault.listKeys(KeyFilter()).count
        let report = try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual")
        #expect(report.result == "failed")
        #expect(report.detail.contains("does not look like a key for Anthropic"), "\(report.detail)")
        #expect(!report.detail.contains("oops-not-a-key"))
        #expect(try f.vault.listKeys(KeyFilter()).count == before, "nothing stored")
        #expect(try f.state(old) == .active)
        let audit = try f.vault.auditEvents(AuditFilter()).compactMap(\.detail).joined(separator: "\n")
        #expect(!audit.contains("oops-not-a-key"))
        await f.mock.shutdown()
    }

    @Test("16.6: removing the active key promotes a healthy standby in the same transaction")
    func removeActivePromotes() async throws {
        let f = try await Fixture()
        let active = try f.add("valid-one")
        let standby = try f.add("valid-two")
        let (removed, promoted) = try f.vault.removeKey(id: active)
        #expect(removed.id == active)
        #expect(promoted?.id == standby)
        #expect(try f.state(standby) == .active)
        #expect(try f.activeCount() == 1)
        let events = try f.vault.auditEvents({ var a = AuditFilter(); a.action = "key.remove"; return a }())
        #expect(events.first?.detail?.contains("\(standby) promoted") == true)
        await f.mock.shutdown()
    }

    @Test("16.6: removing the active key with no healthy standby is refused without --force, and changes nothing")
    func removeActiveRefused() async throws {
        let f = try await Fixture()
        let active = try f.add("valid-one")
        let bad = try f.add("invalid-two")
        try await f.vault.database!.writer.write { db in try db.execute(sql: "UPDATE keys SET last_outcome = 'invalid' WHERE id = ?", arguments: [bad]) }
        let error = #expect(throws: KeywardenError.self) { try f.vault.removeKey(id: active) }
        #expect(error?.message.contains("--force") == true)
        #expect(try f.state(active) == .active)
        let (_, promoted) = try f.vault.removeKey(id: active, force: true)
        #expect(promoted == nil)
        #expect(try f.activeCount() == 0)
        #expect(try f.state(bad) == .standby, "a key known bad is not promoted")
        // A standby key is removed without question.
        _ = try f.vault.removeKey(id: bad)
        await f.mock.shutdown()
    }

    @Test("9.6: the redactor removes a value, a cut piece of it, and its base64 forms, matching bytes")
    func redactor() {
        let key = "sk-ant-api03-" + String(repeating: "Zq9", count: 30) + "AA"
        var redactor = SecretRedactor([SecureBytes(copying: Array(key.utf8))])
        defer { redactor.erase() }
        func clean(_ text: String) -> String { String(decoding: redactor.redact(Array(text.utf8)), as: UTF8.self) }
        #expect(clean("+ echo \(key)\nerror") == "+ echo [redacted]\nerror")
        #expect(!clean("cut: " + key.prefix(40)).contains(String(key.prefix(40).suffix(20))))
        let basic = Data(("user:" + key).utf8).base64EncodedString()
        let cleaned = clean("Authorization: Basic \(basic)")
        #expect(!cleaned.contains(String(basic.dropFirst(8).prefix(40))), "\(cleaned)")
        #expect(!clean(Data(key.utf8).base64EncodedString()).contains(String(Data(key.utf8).base64EncodedString().prefix(30))))
        #expect(clean("sk-ant-api03- is the prefix") == "sk-ant-api03- is the prefix", "a shared prefix alone is not a secret")
    }

    @Test("9.6: stderr of a failing rotate command that echoes its output, and of a revoke command that echoes the old key, is redacted everywhere")
    func redactedStderr() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        _ = try f.add("valid-two")
        let printed = "sk-ant-api03-valid-printed-" + String(repeating: "p", count: 40)
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(
            grace: DurationSpec(seconds: 60), command: .some("k=\(printed); echo $k; echo \"made $k\" >&2; exit 1"),
            revokeCommand: .some("v=$(cat); echo \"revoking $v\" >&2; printf %s \"$v\" | base64 -w0 >&2; exit 1")))
        // The standby goes first; once it is used up, the command runs.
        let first = try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual")
        #expect(first.result == "rotated", "the standby goes first")
        f.clock.advance(seconds: 61)
        let revoked = try await f.rotator.retireExpired(now: f.clock.now)
        #expect(revoked.first?.detail.contains("[redacted]") == true, "\(revoked.first?.detail ?? "")")
        let commandRun = try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual")
        #expect(commandRun.result == "failed")
        #expect(commandRun.detail.contains("[redacted]"), "\(commandRun.detail)")

        let oldValue = value("valid-one"), activeValue = value("valid-two")
        var texts = [first.detail, revoked.first?.detail ?? "", commandRun.detail]
        texts += try f.vault.auditEvents(AuditFilter()).compactMap(\.detail)
        texts += try f.vault.listKeys(KeyFilter()).compactMap(\.detail)
        let rotations = try await f.vault.database!.writer.read { db in try String.fetchAll(db, sql: "SELECT coalesce(detail, '') FROM rotations") }
        texts += rotations
        for secret in [oldValue, activeValue, printed] {
            let base64 = Data(secret.utf8).base64EncodedString()
            for text in texts {
                #expect(!text.contains(secret), "a value in: \(text)")
                #expect(!text.contains(base64.prefix(24)), "its base64 in: \(text)")
            }
        }
        #expect(try f.vault.key(id: old).detail?.contains("revoke command failed") == true)
        await f.mock.shutdown()
    }

    @Test("9.18: a command that closes its output and keeps running is killed at its time limit, not waited for")
    func boundedWait() async throws {
        let f = try await Fixture()
        _ = try f.add("valid-one")
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(
            command: .some("exec >/dev/null 2>&1; sleep 30"), commandTimeout: DurationSpec(seconds: 1)))
        let started = Date()
        let report = try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(report.result == "failed")
        #expect(report.detail.contains("did not finish within 1s"), "\(report.detail)")
        await f.mock.shutdown()
    }

    @Test("9.18: the revoke command's time limit is the policy's --revoke-timeout")
    func revokeTimeout() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        _ = try f.add("valid-two")
        let policy = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(
            grace: DurationSpec(seconds: 60), revokeCommand: .some("cat >/dev/null; sleep 30"), revokeTimeout: DurationSpec(seconds: 1)))
        #expect(policy.revokeTimeout.seconds == 1)
        #expect(try f.vault.rotationPolicies().first?.revokeTimeout.description == "1s")
        #expect(try await f.rotator.rotate(provider: "anthropic", scope: "prod", trigger: "manual").result == "rotated")
        f.clock.advance(seconds: 61)
        let started = Date()
        let reports = try await f.rotator.retireExpired(now: f.clock.now)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(reports.first?.detail.contains("did not finish within 1s") == true, "\(reports.first?.detail ?? "")")
        #expect(try f.state(old) == .revoked)
        await f.mock.shutdown()
    }

    @Test("9: a rotations row forged with SQL to name keys of another pool, or keys that do not exist, is refused naming the rotation; nothing acts on it")
    func forgedRotationRow() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one", activate: true)
        let spare = try f.add("valid-two")
        // A genuine pending key (what a crash after the set step leaves)…
        try f.vault.write { tx in
            var key = try #require(try tx.key(id: spare))
            key.state = .pending
            try tx.update(key)
        }
        // …and a rotations row written with sqlite3 (no MAC, no foreign keys)
        // naming anthropic/prod's keys as if they were openai/prod's.
        var config = Configuration()
        config.foreignKeysEnabled = false
        let raw = try DatabaseQueue(path: VaultLocation(directory: f.directory.file("v")).databasePath, configuration: config)
        try await raw.write { db in
            try db.execute(sql: """
                INSERT INTO rotations (id, provider, scope, old_key_id, new_key_id, trigger, step, started_at, updated_at)
                VALUES ('r_forged', 'openai', 'prod', ?, ?, 'manual', 'test', '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z')
                """, arguments: [old, spare])
        }
        func expectRefused(_ body: () async throws -> Void) async {
            do {
                try await body()
                Issue.record("a forged rotations row was acted on")
            } catch let error as KeywardenError {
                #expect(error.kind == .integrity)
                #expect(error.exitCode == 4)
                #expect(error.message.contains("r_forged"), "\(error.message)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        await expectRefused { _ = try f.rotator.plan(.due, reexport: false) }
        await expectRefused { _ = try await f.rotator.recover() }
        await expectRefused { _ = try await f.rotator.resume("r_forged") }
        await expectRefused { _ = try await f.rotator.rollBack("r_forged") }
        #expect(try f.state(old) == .active)
        #expect(try f.state(spare) == .pending)
        #expect(try await raw.read { db in try String.fetchOne(db, sql: "SELECT step FROM rotations WHERE id = 'r_forged'") } == "test")

        // The same pool, but a new key that does not exist.
        try await raw.write { db in try db.execute(sql: "UPDATE rotations SET provider = 'anthropic', new_key_id = 'k_nothere' WHERE id = 'r_forged'") }
        await expectRefused { _ = try await f.rotator.recover() }
        #expect(try f.state(old) == .active)
        #expect(try f.state(spare) == .pending)
        await f.mock.shutdown()
    }
}

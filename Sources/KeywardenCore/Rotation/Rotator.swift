#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GRDB
import KeywardenCrypto
import NIOCore

/// `rotations`: one row per rotation and the step it reached.
struct RotationRecord: SnakeCaseRecord {
    static let databaseTableName = "rotations"
    var id: String
    var provider: String
    var scope: String
    var oldKeyId: String?
    var newKeyId: String?
    var trigger: String
    var step: String
    var startedAt: String
    var updatedAt: String
    var detail: String?
}

/// What one rotation (or the retirement of a key) did.
public struct RotationReport: Codable, Sendable {
    public var provider: String
    public var scope: String
    /// `rotated`, `failed`, `would rotate`, `resumed`, `rolled back`, `revoked`, `skipped`.
    public var result: String
    public var oldKey: String?
    public var newKey: String?
    public var detail: String

    enum CodingKeys: String, CodingKey { case provider, scope, result, oldKey = "old_key", newKey = "new_key", detail }
}

/// Runs the four steps of a rotation, as AWS Secrets Manager does:
/// **create** a new key (the pool's next healthy standby, or the policy's
/// command), **set** it as `pending`, **test** it against the provider, and
/// **finish** by promoting it and moving the old key to `retiring` in one
/// transaction. Each step is recorded first, so a crash at any point is
/// resumed or rolled back by the next run; the old key stays active until the
/// finish commits, and "exactly one active key" holds at every commit.
public struct Rotator: Sendable {
    public var vault: Vault
    public var validator: Validator
    /// Test hook: `KEYWARDEN_CRASH_AT=create|set|test|finish` kills the
    /// process (SIGKILL) right after that step is recorded.
    public var crashAt: String?

    public init(vault: Vault, validator: Validator, crashAt: String? = nil) {
        self.vault = vault
        self.validator = validator
        self.crashAt = crashAt
    }

    private func checkpoint(_ step: String) {
        if crashAt == step { kill(getpid(), SIGKILL) }
    }

    /// Pools whose policy says a rotation is due at `now` (active key older than `every`).
    public func duePools(now: Timestamp) throws(KeywardenError) -> [(provider: String, scope: String)] {
        try vault.read { db in
            var due: [(String, String)] = []
            let pools = try Row.fetchAll(db, sql: "SELECT DISTINCT provider, scope FROM keys WHERE state = 'active'")
            for row in pools {
                let provider: String = row["provider"], scope: String = row["scope"]
                guard let policy = try vault.rotationPolicy(provider: provider, scope: scope, db), let every = policy.every else { continue }
                guard let active = try KeyRecord.filter(Column("provider") == provider && Column("scope") == scope && Column("state") == "active").fetchOne(db),
                      let since = Timestamp(iso8601: active.activatedAt ?? active.createdAt) else { continue }
                if since.adding(seconds: every.seconds) <= now { due.append((provider, scope)) }
            }
            return due
        }
    }

    /// Rotates one pool now. `dryRun` only says what would happen.
    public func rotate(provider: String, scope: String, trigger: String, dryRun: Bool = false) async throws(KeywardenError) -> RotationReport {
        let policy = try vault.rotationPolicy(provider: provider, scope: scope)
        let definition = try vault.provider(named: provider)
        // Start: record the rotation before anything changes (step create).
        let (rotation, old, standby): (RotationRecord?, KeyRecord, KeyRecord?) = try vault.write { db in
            guard let old = try KeyRecord.filter(Column("provider") == provider && Column("scope") == scope && Column("state") == "active").fetchOne(db) else {
                throw KeywardenError(.notFound, "\(provider)/\(scope) has no active key to rotate; add one with `keywarden key add \(provider) --scope \(scope)`")
            }
            if let open = try RotationRecord.filter(Column("provider") == provider && Column("scope") == scope && ["create", "set", "test"].contains(Column("step"))).fetchOne(db) {
                throw KeywardenError(.conflict, "a rotation of \(provider)/\(scope) is already under way (\(open.id), step \(open.step)); run `keywarden rotate --due` to finish or roll it back")
            }
            let standby = try vault.healthyStandby(provider: provider, scope: scope, db)
            if standby == nil && policy?.command == nil {
                throw KeywardenError(.invalidInput, "\(provider)/\(scope) has no healthy standby key and no rotate command; add a standby key (`keywarden key add \(provider) --scope \(scope)`) or set one (`keywarden rotate policy \(provider) --scope \(scope) --command CMD`)")
            }
            if dryRun { return (nil, old, standby) }
            let record = RotationRecord(id: Vault.newIdentifier(prefix: "r_"), provider: provider, scope: scope, oldKeyId: old.id, newKeyId: nil,
                                        trigger: trigger, step: "create", startedAt: vault.now, updatedAt: vault.now, detail: nil)
            try record.insert(db)
            try vault.appendAudit(AuditDraft(action: "rotate.start", provider: provider, scope: scope, keyID: old.id, fingerprint: old.fingerprint, outcome: "ok",
                                             detail: "\(record.id) (\(trigger)): replacing \(old.id) with \(standby.map { "standby \($0.id)" } ?? "a key from the rotate command")"), db)
            return (record, old, standby)
        }
        guard var rotation else {
            return RotationReport(provider: provider, scope: scope, result: "would rotate", oldKey: old.id, newKey: standby?.id,
                                  detail: "would replace \(old.id) with \(standby.map { "standby \($0.id)" } ?? "a new key from the rotate command"), test it, then retire \(old.id) for \(policy?.grace.description ?? "24h")")
        }
        checkpoint("create")

        // Create + set: the new key, stored as pending.
        let newKey: KeyRecord
        do {
            if let standby {
                newKey = try vault.write { db in try setPending(standby.id, in: &rotation, db) }
            } else {
                let (value, stderr) = try await RotateCommand.run(policy!.command!, provider: provider, scope: scope, oldKeyID: old.id,
                                                                  timeout: policy!.commandTimeout.seconds, vault: vault)
                newKey = try vault.write { db in
                    let added = try vault.insertKey(provider: definition, scope: scope, label: "rotated-\(rotation.id.dropFirst(2))", env: old.env, value: value,
                                                    activate: false, auditDetail: "from the rotate command (\(rotation.id))\(stderr.isEmpty ? "" : "; stderr: \(stderr)")", db)
                    return try setPending(added.key.id, in: &rotation, db)
                }
            }
        } catch {
            try? fail(&rotation, newKey: nil, reason: "create failed: \(error.message)")
            return RotationReport(provider: provider, scope: scope, result: "failed", oldKey: old.id, newKey: nil, detail: "create failed: \(error.message); \(old.id) stays active")
        }
        checkpoint("set")
        return try await testAndFinish(&rotation, old: old, newKey: newKey, definition: definition, grace: policy?.grace.seconds ?? 86400)
    }

    /// The set step: the new key becomes `pending` and the rotation records it.
    private func setPending(_ keyID: String, in rotation: inout RotationRecord, _ db: Database) throws -> KeyRecord {
        var key = try KeyRecord.fetchOne(db, key: keyID)!
        key.state = KeyState.pending.rawValue
        key.updatedAt = vault.now
        try key.update(db)
        rotation.newKeyId = key.id
        rotation.step = "set"
        rotation.updatedAt = vault.now
        try rotation.update(db)
        return key
    }

    /// The test and finish steps (also used to resume a rotation after a crash).
    private func testAndFinish(_ rotation: inout RotationRecord, old: KeyRecord, newKey: KeyRecord, definition: ProviderDefinition, grace: Int64) async throws(KeywardenError) -> RotationReport {
        let value = try vault.open(nonce: newKey.nonce, ciphertext: newKey.ciphertext, for: RowBinding(key: newKey))
        let check = await validator.checkOne(KeyToCheck(key: KeyInfo(newKey), provider: definition, value: value))
        try vault.recordChecks([check], by: "rotate \(rotation.id)")
        let rotationID = rotation.id
        try vault.write { db in
            var r = try RotationRecord.fetchOne(db, key: rotationID)!
            r.step = "test"
            r.updatedAt = vault.now
            r.detail = "test: \(check.outcome.rawValue)"
            try r.update(db)
        }
        rotation.step = "test"
        checkpoint("test")
        guard check.outcome == .valid else {
            try fail(&rotation, newKey: newKey.id, reason: "test failed: \(check.outcome.rawValue): \(check.reason)")
            return RotationReport(provider: rotation.provider, scope: rotation.scope, result: "failed", oldKey: old.id, newKey: newKey.id,
                                  detail: "the new key \(newKey.id) did not pass its test (\(check.outcome.rawValue): \(check.reason)); it is marked failed and \(old.id) stays active")
        }
        // Finish: one transaction; the old key retires, the new one is active.
        try vault.write { db in
            var current = try KeyRecord.fetchOne(db, key: old.id)!
            current.state = KeyState.retiring.rawValue
            current.retireAfter = vault.context.clock().adding(seconds: grace).iso8601
            current.updatedAt = vault.now
            try current.update(db)
            var promoted = try KeyRecord.fetchOne(db, key: newKey.id)!
            promoted.state = KeyState.active.rawValue
            promoted.activatedAt = vault.now
            promoted.updatedAt = vault.now
            try promoted.update(db)
            var r = try RotationRecord.fetchOne(db, key: rotationID)!
            r.step = "done"
            r.updatedAt = vault.now
            try r.update(db)
            try vault.appendAudit(AuditDraft(action: "key.rotate", provider: promoted.provider, scope: promoted.scope, keyID: promoted.id, fingerprint: promoted.fingerprint,
                                             outcome: "ok", detail: "\(rotationID): \(promoted.id) replaced \(current.id), which retires until \(current.retireAfter!)"), db)
        }
        checkpoint("finish")
        return RotationReport(provider: rotation.provider, scope: rotation.scope, result: "rotated", oldKey: old.id, newKey: newKey.id,
                              detail: "\(newKey.id) passed its test and is active; \(old.id) is retiring for \(DurationSpec(seconds: grace))")
    }

    private func fail(_ rotation: inout RotationRecord, newKey: String?, reason: String) throws(KeywardenError) {
        let rotationID = rotation.id
        try vault.write { db in
            if let newKey, var key = try KeyRecord.fetchOne(db, key: newKey), key.state == KeyState.pending.rawValue {
                key.state = KeyState.failed.rawValue
                key.lastDetail = reason
                key.updatedAt = vault.now
                try key.update(db)
            }
            var r = try RotationRecord.fetchOne(db, key: rotationID)!
            r.step = "failed"
            r.detail = reason
            r.updatedAt = vault.now
            try r.update(db)
            try vault.appendAudit(AuditDraft(action: "rotate.fail", provider: r.provider, scope: r.scope, keyID: newKey, outcome: "failed",
                                             detail: "\(rotationID): \(reason); \(r.oldKeyId ?? "the old key") stays active"), db)
        }
        rotation.step = "failed"
    }

    /// Finishes or rolls back rotations a crash interrupted: nothing stored
    /// yet (create) → rolled back; a pending key (set, test) → tested again
    /// and finished or failed. Idempotent.
    public func recover() async throws(KeywardenError) -> [RotationReport] {
        let open: [RotationRecord] = try vault.read { db in
            try RotationRecord.filter(["create", "set", "test"].contains(Column("step"))).fetchAll(db)
        }
        var reports: [RotationReport] = []
        for var rotation in open {
            let (old, newKey): (KeyRecord?, KeyRecord?) = try vault.read { db in
                (try rotation.oldKeyId.flatMap { try KeyRecord.fetchOne(db, key: $0) }, try rotation.newKeyId.flatMap { try KeyRecord.fetchOne(db, key: $0) })
            }
            guard let old, old.state == KeyState.active.rawValue, let newKey, newKey.state == KeyState.pending.rawValue else {
                let rotationID = rotation.id
                try vault.write { db in
                    var r = try RotationRecord.fetchOne(db, key: rotationID)!
                    let interruptedAt = r.step
                    // A standby taken for the rotation goes back to standby.
                    if let id = r.newKeyId, var key = try KeyRecord.fetchOne(db, key: id), key.state == KeyState.pending.rawValue {
                        key.state = KeyState.standby.rawValue
                        try key.update(db)
                    }
                    r.step = "rolled_back"
                    r.detail = "interrupted at \(interruptedAt); rolled back"
                    r.updatedAt = vault.now
                    try r.update(db)
                    try vault.appendAudit(AuditDraft(action: "rotate.recover", provider: r.provider, scope: r.scope, keyID: r.oldKeyId, outcome: "rolled_back",
                                                     detail: "\(rotationID) was interrupted before a new key was stored; rolled back"), db)
                }
                reports.append(RotationReport(provider: rotation.provider, scope: rotation.scope, result: "rolled back", oldKey: rotation.oldKeyId, newKey: nil,
                                              detail: "\(rotation.id) was interrupted; rolled back, \(rotation.oldKeyId ?? "the old key") stays active"))
                continue
            }
            let definition = try vault.provider(named: rotation.provider)
            let grace = try vault.rotationPolicy(provider: rotation.provider, scope: rotation.scope)?.grace.seconds ?? 86400
            try vault.recordAudit(AuditDraft(action: "rotate.recover", provider: rotation.provider, scope: rotation.scope, keyID: newKey.id, outcome: "resumed",
                                             detail: "\(rotation.id) was interrupted at \(rotation.step); testing \(newKey.id) again"))
            var report = try await testAndFinish(&rotation, old: old, newKey: newKey, definition: definition, grace: grace)
            report.detail = "resumed \(rotation.id): " + report.detail
            reports.append(report)
        }
        return reports
    }

    /// Revokes retiring keys whose grace period has ended, giving each old key
    /// to the policy's revoke command on stdin.
    public func retireExpired(now: Timestamp) async throws(KeywardenError) -> [RotationReport] {
        let expired: [KeyRecord] = try vault.read { db in
            try KeyRecord.filter(Column("state") == KeyState.retiring.rawValue && Column("retire_after") <= now.iso8601).fetchAll(db)
        }
        var reports: [RotationReport] = []
        for key in expired {
            var detail = "grace period over"
            if let command = try vault.rotationPolicy(provider: key.provider, scope: key.scope)?.revokeCommand {
                let value = try vault.open(nonce: key.nonce, ciphertext: key.ciphertext, for: RowBinding(key: key))
                do {
                    try await RotateCommand.revoke(command, provider: key.provider, scope: key.scope, keyID: key.id, value: value, timeout: 60, vault: vault)
                    detail += "; revoke command succeeded"
                } catch {
                    detail += "; revoke command failed: \(error.message) (the key is still marked revoked here; revoke it upstream by hand)"
                }
            }
            try vault.write { db in
                guard var current = try KeyRecord.fetchOne(db, key: key.id), current.state == KeyState.retiring.rawValue else { return }
                current.state = KeyState.revoked.rawValue
                current.updatedAt = vault.now
                try current.update(db)
                try vault.appendAudit(AuditDraft(action: "key.revoke", provider: key.provider, scope: key.scope, keyID: key.id, fingerprint: key.fingerprint,
                                                 outcome: "ok", detail: detail), db)
            }
            reports.append(RotationReport(provider: key.provider, scope: key.scope, result: "revoked", oldKey: key.id, newKey: nil, detail: detail))
        }
        return reports
    }
}

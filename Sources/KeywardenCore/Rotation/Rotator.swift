#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KeywardenCrypto
import NIOCore

extension RotationRecord {
    /// The rotation's old and new keys. `rotations` rows carry no MAC, so a
    /// row forged with SQL could name keys of another pool; before anything
    /// acts on it, each key it names must exist and belong to its pool, or
    /// this is an integrity error naming the rotation (nothing acted on).
    func keys(_ tx: any StoreReading) throws -> (old: KeyRecord?, new: KeyRecord?) {
        func fetch(_ id: String?, _ role: String) throws -> KeyRecord? {
            guard let id else { return nil }
            guard let key = try tx.key(id: id) else {
                throw KeywardenError(.integrity, "rotation \(self.id) names \(role) key \(id), which does not exist; the rotations table was changed outside Keywarden. Nothing acted on it; restore the vault from a backup")
            }
            guard key.provider == provider, key.scope == scope else {
                throw KeywardenError(.integrity, "rotation \(self.id) of \(provider)/\(scope) names \(role) key \(id) of \(key.provider)/\(key.scope); the rotations table was changed outside Keywarden. Nothing acted on it; restore the vault from a backup")
            }
            return key
        }
        return (try fetch(oldKeyId, "old"), try fetch(newKeyId, "new"))
    }
}

/// What one step of a rotation run did (or, in a dry run, would do).
public struct RotationReport: Codable, Sendable {
    public var provider: String
    public var scope: String
    /// `rotated`, `failed`, `rolled back`, `revoked`, `re-exported`,
    /// `skipped`; in a dry run `would rotate`, `would resume`, `would roll
    /// back`, `would revoke`, `would re-export`, `would fail`.
    public var result: String
    public var oldKey: String?
    public var newKey: String?
    public var detail: String
    /// The file, for a re-export.
    public var path: String?

    public init(provider: String, scope: String, result: String, oldKey: String?, newKey: String?, detail: String, path: String? = nil) {
        self.provider = provider
        self.scope = scope
        self.result = result
        self.oldKey = oldKey
        self.newKey = newKey
        self.detail = detail
        self.path = path
    }

    enum CodingKeys: String, CodingKey { case provider, scope, result, oldKey = "old_key", newKey = "new_key", detail, path }
}

/// Runs the four steps of a rotation, as AWS Secrets Manager does:
/// **create** a new key (the pool's next healthy standby, or the policy's
/// command), **set** it as `pending`, **test** it against the provider, and
/// **finish** by promoting it and moving the old key to `retiring` in one
/// transaction. Each step is recorded first, so a crash at any point is
/// resumed or rolled back by the next run; the old key stays active until the
/// finish commits, and "exactly one active key" holds at every commit.
///
/// A run is planned first (`plan`, in RotationPlan.swift) and then carried
/// out (`execute`); the dry run prints the same plan.
///
/// A run awaits probes and commands between its vault calls, so it cannot
/// run as one piece of vault work: each vault call goes through `runner`
/// instead (the agent's pool, refused once the agent was locked meanwhile,
/// audit events naming the caller). `plan` and `duePools` are single reads
/// that callers run through the runner themselves.
public struct Rotator: Sendable {
    public var vault: Vault
    public var validator: Validator
    /// Test hook (debug builds only): `KEYWARDEN_CRASH_AT=create|set|test|finish`
    /// kills the process (SIGKILL) right after that step is recorded.
    public var crashAt: String?
    /// Where each vault call of a run goes; inline in-process.
    public var runner: VaultRunner

    public init(vault: Vault, validator: Validator, crashAt: String? = nil, runner: VaultRunner = .inline) {
        self.vault = vault
        self.validator = validator
        self.crashAt = crashAt
        self.runner = runner
    }

    func checkpoint(_ step: String) {
        #if DEBUG
        if crashAt == step { kill(getpid(), SIGKILL) }
        #endif
    }

    /// One vault call through `runner`. An error that is not Keywarden's
    /// (a thread pool already shut down) is reported as a failure.
    func onVault<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws(KeywardenError) -> T {
        do {
            return try await runner.run(body)
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw KeywardenError(.failed, "rotation: a vault call failed: \(error)")
        }
    }

    /// Rotates one pool now: to `standby` when it is still a standby key of
    /// the pool, else to the pool's next healthy standby, else to a key from
    /// the policy's command.
    public func rotate(provider: String, scope: String, trigger: String, standby preferred: String? = nil) async throws(KeywardenError) -> RotationReport {
        guard let trigger = RotationTrigger(rawValue: trigger) else {
            throw KeywardenError(.invalidInput, "unknown rotation trigger '\(trigger)': use \(RotationTrigger.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let (policy, definition) = try await onVault { [vault] in
            (try vault.rotationPolicy(provider: provider, scope: scope), try vault.provider(named: provider))
        }
        let pool = Pool(provider: provider, scope: scope)
        // Start: record the rotation before anything changes (step create).
        let (started, old, standby): (RotationRecord, KeyRecord, KeyRecord?) = try await onVault { [self] in try vault.write { tx in
            guard let old = try activeKey(pool, tx) else {
                throw KeywardenError(.notFound, "\(pool) has no active key to rotate; add one with `keywarden key add \(provider) --scope \(scope)`")
            }
            if let open = try tx.openRotation(of: pool) {
                throw KeywardenError(.conflict, "a rotation of \(pool) is already under way (\(open.id), step \(open.step.rawValue)); run `keywarden rotate --due` to finish or roll it back")
            }
            var standby = try preferred.flatMap { try tx.key(id: $0) }
            if let chosen = standby, chosen.state != .standby || chosen.provider != provider || chosen.scope != scope { standby = nil }
            if standby == nil { standby = try vault.healthyStandby(pool, tx) }
            if standby == nil && policy?.canCreate != true {
                throw KeywardenError(.invalidInput, Self.nothingToRotateTo(pool, policy))
            }
            let record = RotationRecord(id: Vault.newIdentifier(prefix: "r_"), provider: provider, scope: scope, oldKeyId: old.id, newKeyId: nil,
                                        trigger: trigger, step: .create, startedAt: vault.now, updatedAt: vault.now, detail: nil)
            try tx.insert(record)
            try vault.appendAudit(AuditDraft(action: "rotate.start", provider: provider, scope: scope, keyID: old.id, fingerprint: old.fingerprint, outcome: "ok",
                                             detail: "\(record.id) (\(trigger.rawValue)): replacing \(old.id) with \(standby.map { "standby \($0.id)" } ?? Self.source(policy))"), tx)
            return (record, old, standby)
        } }
        var rotation = started
        checkpoint("create")

        // Create + set: the new key, stored as pending.
        let newKey: KeyRecord
        do {
            if let standby {
                (newKey, rotation) = try await onVault { [self, rotation] in try vault.write { tx in try setPending(standby.id, in: rotation, tx) } }
            } else if let policy, policy.via?.creates == true {
                (newKey, rotation) = try await createThroughAPI(policy, definition: definition, old: old, rotation: rotation)
            } else {
                let oldValue = try await onVault { [vault] in try vault.open(nonce: old.nonce, ciphertext: old.ciphertext, for: RowBinding(key: old)) }
                let (value, stderr) = try await RotateCommand.run(policy!.command!, provider: definition, scope: scope, oldKeyID: old.id,
                                                                  timeout: policy!.commandTimeout.seconds, redacting: [oldValue])
                (newKey, rotation) = try await onVault { [self, rotation] in try vault.write { tx in
                    let added = try vault.insertKey(provider: definition, scope: scope, label: "rotated-\(rotation.id.dropFirst(2))", env: old.env, value: value,
                                                    activate: false, auditDetail: "from the rotate command (\(rotation.id))\(stderr.isEmpty ? "" : "; stderr: \(stderr)")", tx)
                    return try setPending(added.key.id, in: rotation, tx)
                } }
            }
        } catch {
            // Locked meanwhile: nothing more is written, not even the failure;
            // the next run rolls the rotation back.
            if error.isLockedMeanwhile { throw error }
            try? await fail(rotation.id, newKey: nil, reason: "create failed: \(error.message)")
            return RotationReport(pool, "failed", old: old.id, new: nil, detail: "create failed: \(error.message); \(old.id) stays active")
        }
        checkpoint("set")
        return try await testAndFinish(rotation, old: old, newKey: newKey, definition: definition, grace: policy?.grace.seconds ?? 86400)
    }

    /// The set step: the new key becomes `pending` and the rotation records
    /// it. Returns the key and the rotation as now stored.
    func setPending(_ keyID: String, in rotation: RotationRecord, _ tx: any StoreWriting) throws -> (KeyRecord, RotationRecord) {
        var key = try tx.key(id: keyID)!
        key.state = .pending
        key.updatedAt = vault.now
        try tx.update(key)
        var rotation = rotation
        rotation.newKeyId = key.id
        rotation.step = .set
        rotation.updatedAt = vault.now
        try tx.update(rotation)
        return (key, rotation)
    }

    /// The test and finish steps (also used to resume a rotation after a crash).
    private func testAndFinish(_ rotation: RotationRecord, old: KeyRecord, newKey: KeyRecord, definition: ProviderDefinition, grace: Int64) async throws(KeywardenError) -> RotationReport {
        let value = try await onVault { [vault] in try vault.open(nonce: newKey.nonce, ciphertext: newKey.ciphertext, for: RowBinding(key: newKey)) }
        let check = await validator.checkOne(KeyToCheck(key: KeyInfo(newKey), provider: definition, value: value))
        let rotationID = rotation.id
        try await onVault { [vault] in try vault.recordChecks([check], by: "rotate \(rotationID)") }
        try await onVault { [vault] in try vault.write { tx in
            var r = try tx.rotation(id: rotationID)!
            r.step = .test
            r.updatedAt = vault.now
            r.detail = "test: \(check.outcome.rawValue)"
            try tx.update(r)
        } }
        checkpoint("test")
        guard check.outcome == .valid else {
            try await fail(rotationID, newKey: newKey.id, reason: "test failed: \(check.outcome.rawValue): \(check.reason)", because: check.outcome)
            // A network outcome says nothing about a standby taken for the rotation: it is standby again.
            let marked = check.outcome.isNetwork && newKey.providerKeyId == nil ? "the network stood in the way, so it is standby again" : "it is marked failed"
            let discarded = newKey.providerKeyId == nil ? "" : "; " + (try await discardCreated(newKey.id, rotationID: rotationID))
            return RotationReport(provider: rotation.provider, scope: rotation.scope, result: "failed", oldKey: old.id, newKey: newKey.id,
                                  detail: "the new key \(newKey.id) did not pass its test (\(check.outcome.rawValue): \(check.reason)); \(marked) and \(old.id) stays active\(discarded)")
        }
        // Finish: one transaction; the old key retires, the new one is active.
        try await onVault { [vault] in try vault.write { tx in
            var current = try tx.key(id: old.id)!
            current.state = .retiring
            current.retireAfter = vault.context.clock().adding(seconds: grace)
            current.updatedAt = vault.now
            try tx.update(current)
            var promoted = try tx.key(id: newKey.id)!
            promoted.state = .active
            promoted.activatedAt = vault.now
            promoted.updatedAt = vault.now
            try tx.update(promoted)
            var r = try tx.rotation(id: rotationID)!
            r.step = .done
            r.updatedAt = vault.now
            try tx.update(r)
            try vault.appendAudit(AuditDraft(action: "key.rotate", provider: promoted.provider, scope: promoted.scope, keyID: promoted.id, fingerprint: promoted.fingerprint,
                                             outcome: "ok", detail: "\(rotationID): \(promoted.id) replaced \(current.id), which retires until \(current.retireAfter!.iso8601)"), tx)
        } }
        checkpoint("finish")
        return RotationReport(provider: rotation.provider, scope: rotation.scope, result: "rotated", oldKey: old.id, newKey: newKey.id,
                              detail: "\(newKey.id) passed its test and is active; \(old.id) is retiring for \(DurationSpec(seconds: grace))")
    }

    /// Marks the rotation failed (and its pending key, if any); the old key stays active.
    /// The pending key fails `because` of its test's outcome (Recovery/),
    /// except that a network outcome, no verdict on the key, puts a standby
    /// taken for the rotation back to standby.
    private func fail(_ rotationID: String, newKey: String?, reason: String, because outcome: ValidationOutcome? = nil) async throws(KeywardenError) {
        try await onVault { [vault] in try vault.write { tx in
            if let newKey, var key = try tx.key(id: newKey), key.state == .pending {
                if outcome?.isNetwork == true && key.providerKeyId == nil {
                    key.state = .standby
                    key.updatedAt = vault.now
                } else if key.providerKeyId != nil {
                    // Made by a rotator, about to be deleted at the provider (or
                    // reported as NEEDS A PERSON): never probed back into a pool.
                    key.markFailed(because: .unexpected, at: vault.now)
                } else {
                    key.markFailed(because: outcome ?? .unexpected, at: vault.now)
                }
                key.lastDetail = reason
                try tx.update(key)
            }
            var r = try tx.rotation(id: rotationID)!
            r.step = .failed
            r.detail = reason
            r.updatedAt = vault.now
            try tx.update(r)
            try vault.appendAudit(AuditDraft(action: "rotate.fail", provider: r.provider, scope: r.scope, keyID: newKey, outcome: "failed",
                                             detail: "\(rotationID): \(reason); \(r.oldKeyId ?? "the old key") stays active"), tx)
        } }
    }

    /// Finishes or rolls back every rotation a crash interrupted: nothing
    /// stored yet (create) → rolled back; a pending key (set, test) → tested
    /// again and finished or failed. Idempotent.
    public func recover() async throws(KeywardenError) -> [RotationReport] {
        var plan = try await onVault { [self] in try self.plan(.due, reexport: false) }
        plan.steps = plan.steps.filter {
            switch $0 {
            case .resume, .rollBack: true
            default: false
            }
        }
        return try await execute(plan)
    }

    /// Resumes one interrupted rotation: tests its pending key again, then
    /// promotes it or marks it failed. Rolls it back instead when its keys
    /// are no longer where the crash left them.
    func resume(_ rotationID: String) async throws(KeywardenError) -> RotationReport {
        let (found, old, newKey): (RotationRecord?, KeyRecord?, KeyRecord?) = try await onVault { [vault] in try vault.read { tx in
            guard let r = try tx.rotation(id: rotationID) else { return (nil, nil, nil) }
            let keys = try r.keys(tx)
            return (r, keys.old, keys.new)
        } }
        guard let rotation = found, rotation.step.isOpen else {
            return RotationReport(provider: found?.provider ?? "-", scope: found?.scope ?? "-", result: "skipped", oldKey: found?.oldKeyId, newKey: found?.newKeyId,
                                  detail: "\(rotationID) was already finished by another run")
        }
        guard let old, old.state == .active, let newKey, newKey.state == .pending else {
            return try await rollBack(rotationID)
        }
        let (definition, grace) = try await onVault { [vault] in
            let definition = try vault.provider(named: rotation.provider)
            let grace = try vault.rotationPolicy(provider: rotation.provider, scope: rotation.scope)?.grace.seconds ?? 86400
            try vault.recordAudit(AuditDraft(action: "rotate.recover", provider: rotation.provider, scope: rotation.scope, keyID: newKey.id, outcome: "resumed",
                                             detail: "\(rotation.id) was interrupted at \(rotation.step.rawValue); testing \(newKey.id) again"))
            return (definition, grace)
        }
        var report = try await testAndFinish(rotation, old: old, newKey: newKey, definition: definition, grace: grace)
        report.detail = "resumed \(rotation.id) (interrupted at \(rotation.step.rawValue)); no second rotation: " + report.detail
        return report
    }

    /// Rolls back one interrupted rotation; a standby it had taken goes back to standby.
    func rollBack(_ rotationID: String) async throws(KeywardenError) -> RotationReport {
        let (report, created): (RotationReport, String?) = try await onVault { [vault] in try vault.write { tx in
            guard var r = try tx.rotation(id: rotationID), r.step.isOpen else {
                return (RotationReport(provider: "-", scope: "-", result: "skipped", oldKey: nil, newKey: nil, detail: "\(rotationID) was already finished by another run"), nil)
            }
            let interruptedAt = r.step.rawValue
            var created: String?
            if var key = try r.keys(tx).new, key.state == .pending {
                // A key made through the provider's API for this rotation is
                // not a standby anyone chose: it is deleted there again.
                if key.providerKeyId != nil {
                    key.state = .failed
                    key.lastDetail = "rotation \(rotationID) was rolled back"
                    created = key.id
                } else {
                    key.state = .standby
                }
                key.updatedAt = vault.now
                try tx.update(key)
            }
            r.step = .rolledBack
            r.detail = "interrupted at \(interruptedAt); rolled back"
            r.updatedAt = vault.now
            try tx.update(r)
            try vault.appendAudit(AuditDraft(action: "rotate.recover", provider: r.provider, scope: r.scope, keyID: r.oldKeyId, outcome: "rolled_back",
                                             detail: "\(rotationID) was interrupted before a new key was stored; rolled back"), tx)
            return (RotationReport(provider: r.provider, scope: r.scope, result: "rolled back", oldKey: r.oldKeyId, newKey: nil,
                                   detail: "\(rotationID) was interrupted at \(interruptedAt); rolled back, \(r.oldKeyId ?? "the old key") stays active"), created)
        } }
        guard let created else {
            // Interrupted at create: a key the provider made in the instant
            // before it was stored is found by its name and deleted.
            guard report.result == "rolled back" else { return report }
            var swept = report
            if let note = try await sweepUnstored(rotationID, pool: Pool(provider: report.provider, scope: report.scope)) { swept.detail += "; " + note }
            return swept
        }
        var withDiscard = report
        withDiscard.detail += "; " + (try await discardCreated(created, rotationID: rotationID))
        return withDiscard
    }

    /// Revokes retiring keys whose grace period has ended at `now`, giving
    /// each old key to the policy's revoke command on stdin.
    public func retireExpired(now: Timestamp) async throws(KeywardenError) -> [RotationReport] {
        let expired: [String] = try await onVault { [vault] in try vault.read { tx in try tx.keys(Self.expired(at: now)).map(\.id) } }
        var reports: [RotationReport] = []
        for id in expired {
            if let report = try await revoke(id, now: now) { reports.append(report) }
        }
        return reports
    }

    /// Revokes one retiring key whose grace has ended; nil when it is no
    /// longer retiring (another run got there first). The revoke command's
    /// stderr is redacted of the key and of the pool's active key.
    func revoke(_ keyID: String, now: Timestamp) async throws(KeywardenError) -> RotationReport? {
        let (found, active, policy): (KeyRecord?, KeyRecord?, RotationPolicy?) = try await onVault { [self] in
            let (key, active): (KeyRecord?, KeyRecord?) = try vault.read { tx in
                guard let key = try tx.key(id: keyID), key.state == .retiring else { return (nil, nil) }
                return (key, try activeKey(key.pool, tx))
            }
            guard let key else { return (nil, nil, nil) }
            return (key, active, try vault.rotationPolicy(provider: key.provider, scope: key.scope))
        }
        guard let key = found else { return nil }
        var detail = "grace period over"
        var failed = false
        if let command = policy?.revokeCommand {
            let (value, others): (SecureBytes, [SecureBytes]) = try await onVault { [vault] in
                let value = try vault.open(nonce: key.nonce, ciphertext: key.ciphertext, for: RowBinding(key: key))
                var others: [SecureBytes] = []
                if let active { others.append(try vault.open(nonce: active.nonce, ciphertext: active.ciphertext, for: RowBinding(key: active))) }
                return (value, others)
            }
            do {
                try await RotateCommand.revoke(command, provider: key.provider, scope: key.scope, keyID: key.id, value: value,
                                               timeout: policy?.revokeTimeout.seconds ?? 60, redacting: others)
                detail += "; revoke command succeeded"
            } catch {
                failed = true
                detail += "; revoke command failed: \(error.message) (the key is still marked revoked here; revoke it upstream by hand)"
            }
        }
        var upstreamFailed = false
        if let policy, policy.via != nil {
            let (note, ok) = await retireUpstream(key, policy: policy)
            detail += "; " + note
            upstreamFailed = !ok
            failed = failed || !ok
        }
        try await onVault { [vault, detail, failed] in try vault.write { tx in
            guard var current = try tx.key(id: key.id), current.state == .retiring else { return }
            current.state = .revoked
            current.updatedAt = vault.now
            current.lastDetail = detail
            try tx.update(current)
            try vault.appendAudit(AuditDraft(action: "key.revoke", provider: key.provider, scope: key.scope, keyID: key.id, fingerprint: key.fingerprint,
                                             outcome: failed ? "failed" : "ok", detail: detail), tx)
        } }
        return RotationReport(provider: key.provider, scope: key.scope, result: upstreamFailed ? "failed" : "revoked", oldKey: key.id, newKey: nil, detail: detail)
    }
}

extension KeywardenError {
    /// The runner refused a vault call: the agent was locked while the run
    /// went on. A run stops at it rather than reporting a failed step (and
    /// writing that failure).
    var isLockedMeanwhile: Bool { kind == .locked }
}

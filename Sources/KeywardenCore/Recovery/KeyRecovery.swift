/// What a recovery probe or `key check` did to one key.
public struct RecoveryResult: Codable, Sendable {
    public var keyID: String
    public var provider: String
    public var scope: String
    /// The probe's outcome.
    public var outcome: ValidationOutcome
    /// `recovered` (failed → standby or active), `still_failed` (probed
    /// again later), `needs_person` (invalid or forbidden: only `key check`
    /// brings it back), `checked` (a key that was not failed), `skipped`
    /// (removed or probed by someone else meanwhile).
    public var result: String
    /// The key's state afterwards.
    public var state: KeyState
    /// When the next recovery probe is due; nil when none is planned.
    public var nextProbeAt: Timestamp?
    public var message: String
    /// The check itself (outcome, status, reason, fix), for printing.
    public var check: KeyCheck?

    enum CodingKeys: String, CodingKey {
        case keyID = "key_id", provider, scope, outcome, result, state, nextProbeAt = "next_probe_at", message, check
    }
}

/// Probes failed keys again: the agent's scheduler runs ``probeDue()`` on
/// every recovery tick (on PostgreSQL only the agent that holds the
/// scheduler's lease), `key check` runs ``check(keyID:)``.
///
/// A key failed for a reason that may pass (``ValidationOutcome/healsOnItsOwn``:
/// rate limited, out of credit, a failing provider) is probed once its
/// `next_probe_at` has come, with the backoff of ``RecoveryBackoff``. A probe
/// that finds it valid makes it standby, or active when its pool has no
/// active key (`key.recovered`). `invalid` and `forbidden` end the probes:
/// such a key comes back only through `key check`, which a person runs
/// after fixing the key at the provider. A probe that meets the network
/// changes nothing but the backoff, and is recorded as a network incident.
///
/// Times come from the vault's clock (`VaultContext.clock`), so tests move
/// them by hand instead of sleeping.
public struct KeyRecovery: Sendable {
    public var vault: Vault
    public var validator: Validator
    public var backoff: RecoveryBackoff
    /// Where each vault call goes (the agent's pool); inline in-process.
    public var runner: VaultRunner

    public init(vault: Vault, validator: Validator, backoff: RecoveryBackoff = RecoveryBackoff(), runner: VaultRunner = .inline) {
        self.vault = vault
        self.validator = validator
        self.backoff = backoff
        self.runner = runner
    }

    private func onVault<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws(KeywardenError) -> T {
        do {
            return try await runner.run(body)
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw KeywardenError(.failed, "recovery: a vault call failed: \(error)")
        }
    }

    /// Probes every failed key whose next probe is due now, and applies each result.
    public func probeDue() async throws(KeywardenError) -> [RecoveryResult] {
        let keys = try await onVault { [vault] in try vault.keysDueForProbe() }
        guard !keys.isEmpty else { return [] }
        let checks = await validator.check(keys)
        try await onVault { [vault] in try vault.recordChecks(checks, by: "recovery probe") }
        var results: [RecoveryResult] = []
        for check in checks {
            results.append(try await onVault { [vault, backoff] in try vault.applyProbe(check, backoff: backoff, manual: false) })
        }
        return results
    }

    /// `key check ID`: checks one key now. A failed key that passes is
    /// re-enabled whatever made it fail (invalid and forbidden included:
    /// a person asked); any other key's state is left as it is.
    public func check(keyID: String) async throws(KeywardenError) -> RecoveryResult {
        let keys = try await onVault { [vault] in try vault.keysToCheck(ValidationSelection(keyID: keyID)) }
        let checks = await validator.check(keys)
        try await onVault { [vault] in try vault.recordChecks(checks, by: "key check") }
        return try await onVault { [vault, backoff] in try vault.applyProbe(checks[0], backoff: backoff, manual: true) }
    }
}

extension Vault {
    /// Failed keys whose cause may heal and whose next probe is due, decrypted.
    /// Failed keys are few: they are read all and filtered here.
    func keysDueForProbe() throws(KeywardenError) -> [KeyToCheck] {
        let now = self.now
        let due: [String] = try read { tx in
            try tx.keys(KeyQuery(states: [.failed], order: .createdAt)).filter { key in
                guard let next = key.nextProbeAt, key.failedBecause?.healsOnItsOwn == true else { return false }
                return next <= now
            }.map(\.id)
        }
        var keys: [KeyToCheck] = []
        for id in due {
            // A key removed meanwhile is skipped.
            if let key = try? keysToCheck(ValidationSelection(keyID: id)).first { keys.append(key) }
        }
        return keys
    }

    /// Applies one probe's result to its key, in one transaction (see ``KeyRecovery``).
    func applyProbe(_ check: KeyCheck, backoff: RecoveryBackoff, manual: Bool) throws(KeywardenError) -> RecoveryResult {
        try write { tx in
            func result(_ record: KeyRecord, _ result: String, _ message: String) -> RecoveryResult {
                RecoveryResult(keyID: record.id, provider: record.provider, scope: record.scope, outcome: check.outcome, result: result,
                               state: record.state, nextProbeAt: record.nextProbeAt, message: message, check: check)
            }
            guard var record = try tx.key(id: check.id) else {
                throw KeywardenError.unknownKey(check.id)
            }
            guard record.state == .failed else {
                return result(record, "checked", "\(record.id) is \(record.state.rawValue), not failed: its state is left as it is (\(check.outcome.rawValue))")
            }
            // Another host's agent (or `key check`) probed it meanwhile.
            if !manual, record.nextProbeAt.map({ $0 > now }) ?? true {
                return result(record, "skipped", "\(record.id) was probed or changed meanwhile")
            }
            let cause = record.failedBecause
            let attempts = (record.probeAttempts ?? 0) + 1
            switch check.outcome {
            case .valid:
                let hasActive = try tx.countKeys(.pool(record.pool, states: [.active])) > 0
                record.state = hasActive ? .standby : .active
                if !hasActive { record.activatedAt = now }
                record.clearRecovery()
                record.updatedAt = now
                try tx.update(record)
                let how = manual ? "key check" : "recovery probe \(attempts)"
                let message = "\(record.id) answered valid (\(how)) and is \(record.state.rawValue) again"
                    + " (it had failed: \(cause?.rawValue ?? "cause not recorded"))\(hasActive ? "" : "; \(record.pool) had no active key")"
                try appendAudit(AuditDraft(action: "key.recovered", provider: record.provider, scope: record.scope, keyID: record.id,
                                           fingerprint: record.fingerprint, outcome: "ok", detail: message), tx)
                return result(record, "recovered", message)
            case .invalid, .forbidden:
                // A person must look: no more probes.
                record.failedBecause = check.outcome
                record.probeAttempts = attempts
                record.nextProbeAt = nil
                record.updatedAt = now
                try tx.update(record)
                return result(record, "needs_person", "\(record.id) is \(check.outcome.rawValue): it stays failed and is not probed again; fix or replace it at the provider, then run `keywarden key check \(record.id)`")
            default:
                // Still failing, or no verdict (network, provider): the next probe, later.
                if cause?.healsOnItsOwn == true {
                    record.probeAttempts = attempts
                    record.nextProbeAt = now.adding(seconds: backoff.delay(afterAttempts: attempts))
                    record.updatedAt = now
                    try tx.update(record)
                }
                let next = record.nextProbeAt.map { "next probe at \($0.iso8601)" } ?? "not probed on its own; run `keywarden key check \(record.id)` again later"
                return result(record, "still_failed", "\(record.id) is still failed (\(check.outcome.rawValue)\(check.outcome.isNetwork ? ", the network stood in the way" : "")); \(next)")
            }
        }
    }
}

import Foundation

/// A (provider, scope) pair: one pool of keys.
public struct Pool: Hashable, Sendable, CustomStringConvertible {
    public var provider: String
    public var scope: String
    public init(provider: String, scope: String) {
        self.provider = provider
        self.scope = scope
    }
    public var description: String { "\(provider)/\(scope)" }
}

/// What a rotation run is asked to do.
public enum RotationRequest: Sendable, Equatable, Codable {
    /// Rotate one pool now (`rotate PROVIDER --scope S`).
    case pool(provider: String, scope: String)
    /// Rotate every pool whose policy says it is due and revoke retiring keys
    /// whose grace has ended (`rotate --due`, the agent's scheduler).
    case due
}

/// One change of a run, in the order the run makes them.
public enum RotationStep: Sendable, Equatable {
    /// A crash interrupted this rotation after its new key was stored: test
    /// the key again, then promote it or mark it failed. This is the pool's
    /// rotation for the run; no second one starts.
    case resume(rotation: String, pool: Pool, oldKey: String, newKey: String, interruptedAt: String)
    /// A crash interrupted this rotation before a new key was stored: roll it
    /// back (a standby taken for it goes back to standby).
    case rollBack(rotation: String, pool: Pool, oldKey: String?, newKey: String?, interruptedAt: String)
    /// Rotate a pool: to `standby`, or to a key from the policy's command when nil.
    case rotate(pool: Pool, trigger: String, oldKey: String, standby: String?, grace: DurationSpec)
    /// A due pool that cannot rotate (no healthy standby, no command).
    case blocked(pool: Pool, oldKey: String?, reason: String)
    /// Rewrite a file `export --output` wrote, before any revocation. Done
    /// when one of `after` got a new active key in this run, or always when
    /// `revoking` (a key of one of its scopes is revoked: the file must not
    /// keep it).
    case reexport(path: String, scope: String, format: String, after: [Pool], revoking: [Pool])
    /// Revoke a retiring key whose grace has ended; `command`: the policy has
    /// a revoke command that gets the key on stdin.
    case revoke(pool: Pool, key: String, retireAfter: String, command: Bool)
}

/// Every change a run will make, computed once from the vault by
/// `Rotator.plan`. The dry run prints it (`preview`); the real run carries
/// out exactly these steps (`Rotator.execute`), so the two cannot disagree.
public struct RotationPlan: Sendable {
    /// The time the plan was made; due dates and grace ends are judged at it.
    public var now: Timestamp
    public var steps: [RotationStep]

    /// What the real run would do, one report per step (`would …`).
    public var preview: [RotationReport] {
        steps.map { step in
            switch step {
            case .resume(let rotation, let pool, let old, let new, let at):
                return RotationReport(pool, "would resume", old: old, new: new,
                                      detail: "\(rotation) was interrupted at \(at): would test \(new) again, then promote it and retire \(old), or mark it failed; no second rotation of \(pool)")
            case .rollBack(let rotation, let pool, let old, let new, let at):
                return RotationReport(pool, "would roll back", old: old, new: nil,
                                      detail: "\(rotation) was interrupted at \(at) before a key was stored: would roll it back\(new.map { " (\($0) goes back to standby)" } ?? ""); \(old ?? "the old key") stays active")
            case .rotate(let pool, _, let old, let standby, let grace):
                return RotationReport(pool, "would rotate", old: old, new: standby,
                                      detail: "would replace \(old) with \(standby.map { "standby \($0)" } ?? "a new key from the rotate command or the provider's admin API (--via)"), test it, then retire \(old) for \(grace)")
            case .blocked(let pool, let old, let reason):
                return RotationReport(pool, "would fail", old: old, new: nil, detail: reason)
            case .reexport(let path, let scope, let format, let after, let revoking):
                var report = RotationReport(Pool(provider: Self.providers(after + revoking), scope: scope), "would re-export", old: nil, new: nil,
                                            detail: "would rewrite \(path) (\(format)) \(Self.reason(after: after, revoking: revoking, conditional: true))")
                report.path = path
                return report
            case .revoke(let pool, let key, let retireAfter, let command):
                return RotationReport(pool, "would revoke", old: key, new: nil,
                                      detail: "grace period ended at \(retireAfter): would revoke \(key)\(command ? " and give it to the revoke command" : "")")
            }
        }
    }

    static func providers(_ pools: [Pool]) -> String {
        var seen: [String] = []
        for pool in pools where !seen.contains(pool.provider) { seen.append(pool.provider) }
        return seen.joined(separator: ",")
    }

    static func reason(after: [Pool], revoking: [Pool], conditional: Bool) -> String {
        var parts: [String] = []
        if !after.isEmpty { parts.append("after the rotation of \(after.map(\.description).joined(separator: ", "))\(conditional && revoking.isEmpty ? " (if it succeeds)" : "")") }
        if !revoking.isEmpty { parts.append("before the revocation in \(revoking.map(\.description).joined(separator: ", "))") }
        return parts.joined(separator: " and ")
    }
}

extension RotationReport {
    init(_ pool: Pool, _ result: String, old: String?, new: String?, detail: String) {
        self.init(provider: pool.provider, scope: pool.scope, result: result, oldKey: old, newKey: new, detail: detail)
    }
}

extension Rotator {
    /// Works out every change a run for `request` makes, from the vault as it
    /// is now: interrupted rotations (resumed or rolled back), rotations
    /// (a pool resumed here is not rotated again), pools that cannot rotate,
    /// re-exports (with `reexport`) and revocations of keys whose grace has
    /// ended (`.due` only). `trigger` is recorded with each rotation
    /// (`manual`, `due`, `scheduler`); by default it follows the request.
    public func plan(_ request: RotationRequest, reexport: Bool, trigger: String? = nil) throws(KeywardenError) -> RotationPlan {
        let now = vault.context.clock()
        return try vault.read { tx in
            var steps: [RotationStep] = []
            var resumed = Set<Pool>()
            // Standbys-to-be: a key a rolled-back rotation had taken.
            var returning: [Pool: [String]] = [:]
            for rotation in try tx.openRotations() {
                let pool = rotation.pool
                let (old, new) = try rotation.keys(tx)
                if let old, old.state == .active, let new, new.state == .pending {
                    steps.append(.resume(rotation: rotation.id, pool: pool, oldKey: old.id, newKey: new.id, interruptedAt: rotation.step.rawValue))
                    resumed.insert(pool)
                } else {
                    // A key made through the provider's API is deleted, not returned.
                    let back = new?.state == .pending && new?.providerKeyId == nil ? new?.id : nil
                    if let back { returning[pool, default: []].append(back) }
                    steps.append(.rollBack(rotation: rotation.id, pool: pool, oldKey: rotation.oldKeyId, newKey: back, interruptedAt: rotation.step.rawValue))
                }
            }

            var targets: [(pool: Pool, trigger: String)] = []
            switch request {
            case .pool(let provider, let scope):
                _ = try vault.provider(named: provider, tx)
                let pool = Pool(provider: provider, scope: scope)
                if !resumed.contains(pool) { targets.append((pool, trigger ?? "manual")) }
            case .due:
                for pool in try duePools(now: now, tx) where !resumed.contains(pool) { targets.append((pool, trigger ?? "due")) }
            }
            var rotating: [Pool] = []
            for (pool, trigger) in targets {
                let policy = try vault.rotationPolicy(provider: pool.provider, scope: pool.scope, tx)
                guard let old = try activeKey(pool, tx) else {
                    let reason = "\(pool) has no active key to rotate; add one with `keywarden key add \(pool.provider) --scope \(pool.scope)`"
                    if case .pool = request { throw KeywardenError(.notFound, reason) }
                    steps.append(.blocked(pool: pool, oldKey: nil, reason: reason))
                    continue
                }
                let standby = try nextStandby(pool, returning: returning[pool] ?? [], tx)
                guard standby != nil || policy?.canCreate == true else {
                    let reason = Self.nothingToRotateTo(pool, policy)
                    if case .pool = request { throw KeywardenError(.invalidInput, reason) }
                    steps.append(.blocked(pool: pool, oldKey: old.id, reason: reason))
                    continue
                }
                steps.append(.rotate(pool: pool, trigger: trigger, oldKey: old.id, standby: standby, grace: policy?.grace ?? DurationSpec(seconds: 86400)))
                rotating.append(pool)
            }

            var revoking: [Pool] = []
            var revocations: [RotationStep] = []
            if request == .due {
                for key in try tx.keys(Self.expired(at: now)) {
                    let pool = key.pool
                    let command = try vault.rotationPolicy(provider: key.provider, scope: key.scope, tx)?.revokeCommand != nil
                    revocations.append(.revoke(pool: pool, key: key.id, retireAfter: key.retireAfter?.iso8601 ?? "?", command: command))
                    if !revoking.contains(pool) { revoking.append(pool) }
                }
            }

            if reexport {
                // A file holds the active keys of its scope and of the scopes
                // it inherits from: any of them changing makes it stale.
                let changing = Array(resumed).sorted { $0.description < $1.description } + rotating
                for file in try tx.exportedFiles() {
                    let chain = try vault.scopeChain(file.scope, tx)
                    let after = changing.filter { chain.contains($0.scope) }
                    let revoked = revoking.filter { chain.contains($0.scope) }
                    if !after.isEmpty || !revoked.isEmpty {
                        steps.append(.reexport(path: file.path, scope: file.scope, format: file.format.rawValue, after: after, revoking: revoked))
                    }
                }
            }
            return RotationPlan(now: now, steps: steps + revocations)
        }
    }

    /// Carries out `plan`, step by step. A step that fails is reported and
    /// the run goes on: one pool's trouble does not stop the others, and a
    /// failure never leaves a pool without its active key. Once the runner
    /// reports the agent locked, the run stops: nothing more is written.
    public func execute(_ plan: RotationPlan) async throws(KeywardenError) -> [RotationReport] {
        var reports: [RotationReport] = []
        var changed = Set<Pool>()
        let progress = OperationProgress.current
        for (index, step) in plan.steps.enumerated() {
            progress?.report(index, plan.steps.count)
            defer { progress?.report(index + 1, plan.steps.count) }
            switch step {
            case .resume(let rotation, let pool, _, _, _):
                let report = try await resume(rotation)
                if report.result == "rotated" { changed.insert(pool) }
                reports.append(report)
            case .rollBack(let rotation, _, _, _, _):
                reports.append(try await rollBack(rotation))
            case .rotate(let pool, let trigger, let old, let standby, _):
                let report: RotationReport
                do {
                    report = try await rotate(provider: pool.provider, scope: pool.scope, trigger: trigger, standby: standby)
                } catch {
                    if error.isLockedMeanwhile { throw error }
                    report = RotationReport(pool, "failed", old: old, new: nil, detail: "\(error.message); \(old) stays active")
                }
                if report.result == "rotated" { changed.insert(pool) }
                reports.append(report)
            case .blocked(let pool, let old, let reason):
                reports.append(RotationReport(pool, "failed", old: old, new: nil, detail: reason))
            case .reexport(let path, let scope, let format, let after, let revoking):
                let rotated = after.filter { changed.contains($0) }
                let providers = RotationPlan.providers(after + revoking)
                guard !rotated.isEmpty || !revoking.isEmpty else {
                    var report = RotationReport(Pool(provider: providers, scope: scope), "skipped", old: nil, new: nil,
                                                detail: "\(path) not rewritten: no key it holds changed (\(after.map(\.description).joined(separator: ", ")) kept its key)")
                    report.path = path
                    reports.append(report)
                    continue
                }
                var report: RotationReport
                do {
                    let reason = RotationPlan.reason(after: rotated, revoking: revoking, conditional: false)
                    try await onVault { [vault] in try vault.reexport(path: path, reason: reason) }
                    report = RotationReport(Pool(provider: providers, scope: scope), "re-exported", old: nil, new: nil,
                                            detail: "rewrote \(path) (\(format)) \(RotationPlan.reason(after: rotated, revoking: revoking, conditional: false))")
                } catch {
                    if error.isLockedMeanwhile { throw error }
                    report = RotationReport(Pool(provider: providers, scope: scope), "failed", old: nil, new: nil,
                                            detail: "could not re-export \(path): \(error.message); it may still hold an old key")
                }
                report.path = path
                reports.append(report)
            case .revoke(_, let key, _, _):
                if let report = try await revoke(key, now: plan.now) { reports.append(report) }
            }
        }
        return reports
    }

    /// Pools whose policy says a rotation is due at `now`: the active key is
    /// older than `every`, or expires within ``expiryLead(_:)``.
    public func duePools(now: Timestamp) throws(KeywardenError) -> [(provider: String, scope: String)] {
        try vault.read { tx in try duePools(now: now, tx).map { ($0.provider, $0.scope) } }
    }

    func duePools(now: Timestamp, _ tx: any StoreReading) throws -> [Pool] {
        var due: [Pool] = []
        for pool in try tx.activePools() {
            guard let policy = try vault.rotationPolicy(provider: pool.provider, scope: pool.scope, tx),
                  let active = try activeKey(pool, tx) else { continue }
            // A pool of admin keys inherits a policy only by accident (a child
            // of a scope rotated through the API): rotating it would make a key
            // at the provider that the pool then refuses, every run.
            if active.role == .admin { continue }
            if let every = policy.every, (active.activatedAt ?? active.createdAt).adding(seconds: every.seconds) <= now {
                due.append(pool)
            } else if let expires = active.expiresAt, expires <= now.adding(seconds: Self.expiryLead(policy)) {
                // Rotated before it expires, early enough that the old key
                // still works through the grace period programs get to switch.
                due.append(pool)
            }
        }
        return due
    }

    /// How long before its active key expires a pool with a policy is due:
    /// 7 days (``KeyExpiry/warningWindow``), or the policy's grace period when longer.
    static func expiryLead(_ policy: RotationPolicy) -> Int64 {
        max(KeyExpiry.warningWindow, policy.grace.seconds)
    }

    func activeKey(_ pool: Pool, _ tx: any StoreReading) throws -> KeyRecord? {
        try tx.keys(.pool(pool, states: [.active])).first
    }

    /// Retiring keys whose grace period ended at `now`, soonest first.
    static func expired(at now: Timestamp) -> KeyQuery {
        KeyQuery(states: [.retiring], retireAfterUpTo: now, order: .retireAfter)
    }

    /// The standby a rotation takes: the oldest healthy one, counting keys a
    /// rollback earlier in the same run puts back (so the plan names the key
    /// the run will really take).
    func nextStandby(_ pool: Pool, returning: [String], _ tx: any StoreReading) throws -> String? {
        let standbys = try tx.keys(.pool(pool, states: [.standby]))
        let back = try returning.compactMap { try tx.key(id: $0) }
        return (standbys + back).filter(Vault.isHealthy).min { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }?.id
    }
}

import KeywardenCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The agent's scheduler. Every `interval` (with jitter, so many agents do
/// not hit a provider at once) it finishes interrupted rotations, rotates due
/// pools one at a time, and revokes keys whose grace has ended. Programs
/// reading through the agent get a new key as soon as it is active. Every
/// `recoveryInterval` it probes failed keys whose next recovery probe is due
/// (``KeyRecovery``). On PostgreSQL only the agent holding the scheduler's
/// lease does either.
public struct RotationScheduler: Service {
    let state: AgentState
    let metrics: AgentMetrics
    let logger: Logger
    let settings: SchedulerSettings
    var validator: Validator { settings.validator }
    /// Where the scheduler's vault calls run: the agent's vault pool, as
    /// for the routes, each refused once the agent is locked.
    let runner: VaultRunner

    public init(state: AgentState, metrics: AgentMetrics, logger: Logger, settings: SchedulerSettings, vaultPool: NIOThreadPool) {
        self.state = state
        self.metrics = metrics
        self.logger = logger
        self.settings = settings
        runner = VaultRunner(executor: .pool(vaultPool), isLocked: { [state] in state.isLocked })
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if let interval = settings.interval {
                    group.addTask { await every(interval) { await tick() } }
                }
                if settings.recovery != nil {
                    group.addTask { await every(settings.recoveryInterval) { _ = await recoveryTick() } }
                }
            }
        }
    }

    private func every(_ interval: Duration, _ body: () async -> Void) async {
        while !Task.isCancelled {
            let jitter = Double.random(in: 0.9...1.1)
            try? await Task.sleep(for: interval * jitter)
            if Task.isCancelled { break }
            await body()
        }
    }

    /// Whether this agent runs the scheduler now: always on SQLite; on
    /// PostgreSQL, where many hosts' agents share the vault, only the one
    /// that holds the scheduler's lease (PostgresLease).
    private func leads(_ vault: Vault) async -> Bool {
        guard let postgres = vault.postgres else { return true }
        let wasLeader = postgres.schedulerLease.isHeld
        let leads = (try? await runner.run { postgres.schedulerLease.claim() }) ?? false
        if leads != wasLeader {
            logger.info(leads ? "rotation scheduler: this agent now leads (no other host runs the scheduler)"
                              : "rotation scheduler: another host's agent leads; this one waits")
        }
        metrics.schedulerLeader(leads)
        return leads
    }

    /// One recovery pass: probes the failed keys whose next probe is due.
    @discardableResult
    public func recoveryTick() async -> [RecoveryResult] {
        guard let backoff = settings.recovery, let vault = state.current, await leads(vault) else { return [] }
        do {
            let results = try await KeyRecovery(vault: vault, validator: validator, backoff: backoff, runner: runner).probeDue()
            for result in results where result.result != "skipped" {
                logger.info("recovery probe \(result.provider)/\(result.scope): \(result.result): \(result.message)")
            }
            return results
        } catch let error as KeywardenError where error.kind == .locked {
            logger.info("recovery probes: the agent was locked during this run; the rest is left for the next one")
        } catch {
            logger.error("recovery probes: \(error)")
        }
        return []
    }

    /// One pass of the scheduler.
    public func tick() async {
        guard let vault = state.current, await leads(vault) else { return }
        let rotator = Rotator(vault: vault, validator: validator, runner: runner)
        do {
            // The same plan as `rotate --due`: one pool's trouble does not
            // stop the others, and a resumed rotation is not followed by a second.
            // Files are not re-exported here: programs reading through the
            // agent get the new key at once; `rotate --due --reexport` rewrites
            // files, also at revocation.
            // Every vault call goes through the runner, which refuses it once
            // the agent is locked: after `lock` nothing more is written
            // through the vault it held, even in the middle of a step.
            let plan = try await runner.run { try rotator.plan(.due, reexport: false, trigger: "scheduler") }
            for step in plan.steps {
                guard !state.isLocked, !Task.isCancelled else {
                    logger.info("rotation scheduler: agent locked or stopping; the rest of this run is left for the next one")
                    break
                }
                var single = plan
                single.steps = [step]
                for report in try await rotator.execute(single) {
                    metrics.rotation(report.result)
                    logger.info("rotation \(report.provider)/\(report.scope): \(report.result): \(report.detail)")
                }
            }
        } catch let error as KeywardenError where error.kind == .locked {
            logger.info("rotation scheduler: the agent was locked during this run; the rest is left for the next one")
        } catch {
            metrics.rotation("error")
            logger.error("rotation scheduler: \(error)")
        }
    }
}

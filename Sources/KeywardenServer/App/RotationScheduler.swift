import KeywardenCore
import Logging
import NIOCore
import ServiceLifecycle

/// The agent's rotation scheduler: every `interval` (with jitter, so many
/// agents do not hit a provider at once) it finishes interrupted rotations,
/// rotates due pools one at a time, and revokes keys whose grace has ended.
/// Programs reading through the agent get a new key as soon as it is active.
public struct RotationScheduler: Service {
    let state: AgentState
    let metrics: AgentMetrics
    let logger: Logger
    let interval: Duration
    let validator: Validator

    public init(state: AgentState, metrics: AgentMetrics, logger: Logger, interval: Duration, validator: Validator) {
        self.state = state
        self.metrics = metrics
        self.logger = logger
        self.interval = interval
        self.validator = validator
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let jitter = Double.random(in: 0.9...1.1)
                try? await Task.sleep(for: interval * jitter)
                if Task.isCancelled { break }
                await tick()
            }
        }
    }

    /// One pass of the scheduler.
    public func tick() async {
        guard let vault = state.current else { return }
        let rotator = Rotator(vault: vault, validator: validator)
        do {
            // The same plan as `rotate --due`: one pool's trouble does not
            // stop the others, and a resumed rotation is not followed by a second.
            // Files are not re-exported here: programs reading through the
            // agent get the new key at once; `rotate --due --reexport` rewrites
            // files, also at revocation.
            // One step at a time, each only while the agent is still unlocked:
            // after `lock` nothing more is written through the vault it held.
            let plan = try rotator.plan(.due, reexport: false, trigger: "scheduler")
            var reports: [RotationReport] = []
            for step in plan.steps {
                guard state.current != nil, !Task.isCancelled else {
                    logger.info("rotation scheduler: agent locked or stopping; the rest of this run is left for the next one")
                    break
                }
                var single = plan
                single.steps = [step]
                reports += try await rotator.execute(single)
            }
            for report in reports {
                metrics.rotation(report.result)
                logger.info("rotation \(report.provider)/\(report.scope): \(report.result): \(report.detail)")
            }
        } catch {
            metrics.rotation("error")
            logger.error("rotation scheduler: \(error)")
        }
    }
}

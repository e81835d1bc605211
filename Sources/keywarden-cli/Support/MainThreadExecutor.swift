import Dispatch

/// A task executor that runs jobs on the main dispatch queue, which the
/// async `main` already drains (on Linux from one thread of its own).
///
/// Swift runs nonisolated async code on its global executor, whose worker
/// threads the first hop starts; for a command that lives a few milliseconds,
/// starting them and handing work between threads costs about as much as the
/// command's own work (a static hello-world that awaits one nonisolated
/// function: 7.4 ms median, against 4.9 ms when it stays on one thread).
/// `run` and `export` in their everyday forms wait on one socket and have
/// nothing to run in parallel, so they stay on the main queue
/// (`withTaskExecutorPreference`): one thread instead of four. Other
/// commands keep the global executor (`serve` is the agent; `validate`
/// runs its checks in a task group).
final class MainThreadExecutor: TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        DispatchQueue.main.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

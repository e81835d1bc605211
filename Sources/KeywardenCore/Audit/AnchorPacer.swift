import Dispatch
import NIOConcurrencyHelpers

/// How often a process writes the audit anchor. The CLI commits once per
/// command and anchors every commit. The agent commits an audit batch for
/// every group of values it serves; writing and renaming the anchor file for
/// each batch cost about a quarter of its throughput, so it anchors at most
/// once per `interval` and flushes the newest head `interval` after the last
/// commit it skipped, on `lock` and at shutdown. The anchor may then trail
/// the file by up to `interval` of activity, never lead it — the same as
/// after a crash — so `audit verify` can only miss a rollback of the last
/// fraction of a second, never report a false one.
final class AnchorPacer: Sendable {
    private struct State {
        var lastWrite: ContinuousClock.Instant?
        var lastSeq: Int64 = 0
        var flushScheduled = false
    }

    /// nil: anchor every commit.
    let interval: Duration?
    private let state = NIOLockedValueBox(State())

    init(interval: Duration?) {
        self.interval = interval
    }

    /// Whether this commit should anchor its head.
    func isDue() -> Bool {
        guard let interval else { return true }
        return state.withLockedValue { state in
            guard let last = state.lastWrite else { return true }
            return ContinuousClock.now - last >= interval
        }
    }

    /// Runs `write` for `seq` unless a newer head was already anchored by
    /// this process: writes are serialised, so the anchor never moves back.
    func write(seq: Int64, _ write: () -> Void) {
        state.withLockedValue { state in
            guard seq > state.lastSeq else { return }
            write()
            state.lastSeq = seq
            state.lastWrite = .now
        }
    }

    /// Arranges one `flush` after `interval`, unless one is already due.
    func scheduleFlush(_ flush: @escaping @Sendable () -> Void) {
        guard let interval else { return }
        let schedule = state.withLockedValue { state -> Bool in
            guard !state.flushScheduled else { return false }
            state.flushScheduled = true
            return true
        }
        guard schedule else { return }
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            state.withLockedValue { $0.flushScheduled = false }
            flush()
        }
    }
}

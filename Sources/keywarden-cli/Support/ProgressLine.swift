import Foundation

/// "checking keys: 3/12" (or "importing: …", "rotating: …") on one rewritten
/// stderr line while the work runs in this process, cleared once at the end
/// if it was ever shown. Only on a terminal: a log or a pipe gets no
/// carriage returns.
final class ProgressLine: @unchecked Sendable {
    private let label: String
    private let output: Output
    private let enabled: Bool
    private let threshold: Int
    // Reports come from concurrent checks; the lock keeps the lines in order
    // and `finish` after the last of them.
    private let lock = NSLock()
    private var shown = false

    init(_ label: String, _ output: Output, enabled: Bool, threshold: Int) {
        self.label = label
        self.output = output
        self.enabled = enabled
        self.threshold = threshold
    }

    var report: @Sendable (Int, Int) -> Void {
        { [self] done, total in
            guard enabled, total >= threshold else { return }
            lock.withLock {
                shown = true
                output.progress("\(label): \(done)/\(total)")
            }
        }
    }

    func finish() {
        lock.withLock {
            if shown { output.progress("") }
        }
    }
}

import NIOCore

/// The serves of one connection whose `agent.serve` event is durable, for
/// one window each (``length``) from the moment it became durable. Inside
/// it, an identical serve — the same key, scope and purpose to the same
/// peer — is a repeat: it is counted into the next commit
/// (``AuditJournal/count(_:)``) instead of waiting for one. Anything else
/// (another key id after a rotation, another purpose, another caller, a new
/// connection, the window over) waits for its own durable commit. This is
/// the owner's decision of issue 12: what must be durable before a value
/// leaves is *who got which key*; a crash may lose the count of repeats of
/// the last `AuditJournal.repeatDelay`, never that fact.
struct ServeWindows {
    static let length = TimeAmount.seconds(1)
    /// A connection asking for many different keys keeps at most this many windows.
    static let limit = 64

    struct Serve: Hashable {
        var provider: String
        var scope: String
        var purpose: String
        var uid: UInt32
        var pid: Int32
    }

    private struct Window {
        var keyID: String
        var repeats: AuditJournal.Repeats
        var opened: NIODeadline
    }

    private var windows: [Serve: Window] = [:]
    /// The last window asked for: a program reading its key in a loop asks for the same one.
    private var last: (serve: Serve, window: Window)?

    /// Where to count `serve` of `keyID` at `now` if it is a repeat of a durable serve.
    mutating func repeats(of serve: Serve, keyID: String, now: NIODeadline) -> AuditJournal.Repeats? {
        let window: Window
        if let last, last.serve == serve {
            window = last.window
        } else if let found = windows[serve] {
            window = found
            last = (serve, found)
        } else {
            return nil
        }
        guard window.keyID == keyID, now - window.opened < Self.length else { return nil }
        return window.repeats
    }

    /// Opens a window: the event counted by `repeats` became durable at `now`.
    mutating func open(_ serve: Serve, keyID: String, repeats: AuditJournal.Repeats, now: NIODeadline) {
        if windows.count >= Self.limit, windows[serve] == nil {
            windows = windows.filter { now - $0.value.opened < Self.length }
            if windows.count >= Self.limit { windows.removeAll() }
        }
        let window = Window(keyID: keyID, repeats: repeats, opened: now)
        windows[serve] = window
        last = (serve, window)
    }
}

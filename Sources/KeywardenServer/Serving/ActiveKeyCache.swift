#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenCore
import NIOConcurrencyHelpers

/// Decrypted active keys by (provider, scope), so the hot path is a lookup,
/// not a database read and a decryption. Any commit to the vault — by this
/// agent or any other process — changes the database or WAL file's size or
/// modification time, which empties the cache before the next lookup: a
/// rotated or failed-over key is served at once.
final class ActiveKeyCache: Sendable {
    private struct Entry {
        var key: KeyInfo
        var value: Secret
    }

    private struct State {
        var stamp: [Int] = []
        var entries: [String: Entry] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let paths: [String]

    init(location: VaultLocation?) {
        paths = location.map { [$0.databasePath, $0.databasePath + "-wal"] } ?? []
    }

    /// The cached key, or nil (after dropping everything if the vault changed).
    func lookup(provider: String, scope: String) -> (KeyInfo, Secret)? {
        let stamp = currentStamp()
        return state.withLockedValue { state in
            if state.stamp != stamp {
                state.entries.removeAll()
                state.stamp = stamp
                return nil
            }
            return state.entries["\(provider)\u{0}\(scope)"].map { ($0.key, $0.value) }
        }
    }

    func store(provider: String, scope: String, key: KeyInfo, value: Secret, stampBefore: [Int]) {
        state.withLockedValue { state in
            // Only if nothing changed while the key was being read.
            guard state.stamp == stampBefore else { return }
            state.entries["\(provider)\u{0}\(scope)"] = Entry(key: key, value: value)
        }
    }

    /// Keeps the cache across the agent's own audit commits. Every served
    /// value commits an audit event first, and each commit changes the WAL;
    /// without this, every request would empty the cache it just filled. The
    /// cache moves to the stamp after the commit only when it was valid at
    /// the start of the transaction (no one else had committed since it was
    /// filled) and no other connection committed meanwhile (SQLite's
    /// `data_version`); otherwise the next lookup empties it as before.
    func commitObserver() -> CommitObserver {
        final class Stamps: @unchecked Sendable {  // used on the writer's thread only
            var before: [Int] = []
            var after: [Int] = []
        }
        let stamps = Stamps()
        return CommitObserver(
            inTransaction: { stamps.before = self.currentStamp() },
            afterCommit: { stamps.after = self.currentStamp() },
            confirm: { onlyThisCommit in
                guard onlyThisCommit else { return }
                self.state.withLockedValue { state in
                    if state.stamp == stamps.before { state.stamp = stamps.after }
                }
            })
    }

    func clear() {
        state.withLockedValue { $0 = State() }
    }

    /// Size and modification time (ns) of the database and its WAL.
    func currentStamp() -> [Int] {
        paths.flatMap { path -> [Int] in
            var info = stat()
            guard stat(path, &info) == 0 else { return [-1, -1, -1] }
            return [Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenCore
import NIOConcurrencyHelpers
import NIOCore

/// What the agent needs of a served key besides its answer: the fields of
/// its `agent.serve` event. Names and ids only, never the value.
struct ServedKeyFacts: Sendable, Equatable {
    let id: String
    let provider: String
    let fingerprint: String
    let env: String
    /// The key's own scope (the requested one, or the parent it inherits from).
    let scope: String

    init(_ key: KeyInfo) {
        id = key.id
        provider = key.provider
        fingerprint = key.fingerprint
        env = key.env
        scope = key.scope
    }
}

/// The answers of `GET /v1/keys/{provider}?scope=S` (``ServedKey``, value
/// included) by (provider, scope), so the hot path is a lookup and a copy,
/// not a database read, a decryption and JSON writing. The answers live in
/// guarded memory (``GuardedArena``), a few hundred bytes each.
///
/// Any commit to the vault — by this agent or any other process — writes to
/// the WAL and changes its size or modification time (to the nanosecond:
/// Linux stamps a file finely once its time is read), which empties the
/// cache before the next lookup: a rotated or failed-over key is served at
/// once. The database file itself changes only when a checkpoint copies
/// committed pages into it, which changes no answer, so only the WAL is
/// watched: one `fstat` per lookup. (The agent's connections keep the WAL:
/// SQLite removes it only when the last connection closes.) The agent's own
/// audit commits keep the cache (``observingOwnCommit(_:)``).
///
/// A vault in PostgreSQL has no file to watch: there the stamp is the count
/// of its change feed (``PostgresChangeFeed``), which moves when this agent
/// commits a change and when another host's commit is announced by `NOTIFY`
/// (audit appends announce nothing), and when the feed lost its connection.
final class ActiveKeyCache: Sendable {
    private struct EntryKey: Hashable {
        var provider: String
        var scope: String
    }

    private struct Entry {
        var facts: ServedKeyFacts
        var answer: GuardedArena.Slot
    }

    private struct State {
        /// The files' state the entries are valid for; nil before the first lookup.
        var stamp: FileStamp?
        var entries: [EntryKey: Entry] = [:]
        let arena = GuardedArena()
        /// Set while the agent's own audit commit runs: stamp changes are its own.
        var ownCommit = false
        /// Counts the times the entries were dropped (see ``generation()``).
        var generation = 0

        mutating func removeAll(stamp: FileStamp?) {
            entries.removeAll()
            arena.removeAll()
            self.stamp = stamp
            generation &+= 1
        }
    }

    /// What one commit's observer saw, on the writer's thread only.
    private final class OwnCommitStamps: @unchecked Sendable {
        var after: FileStamp?
        var confirmed = false
    }

    private let state: NIOLockedValueBox<State>
    private let wal: WatchedFile?
    private let changes: PostgresChangeFeed?

    init(location: VaultLocation?, changes: PostgresChangeFeed? = nil) {
        wal = location.map { WatchedFile($0.databasePath + "-wal") }
        self.changes = changes
        state = NIOLockedValueBox(State())
    }

    /// The cached key and a copy of its answer, or nil (after dropping
    /// everything if the vault changed).
    func answer(provider: String, scope: String, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> (facts: ServedKeyFacts, body: ByteBuffer)? {
        let stamp = currentStamp()
        return state.withLockedValue { state in
            if state.stamp != stamp, !state.ownCommit {
                state.removeAll(stamp: stamp)
                return nil
            }
            guard let entry = state.entries[EntryKey(provider: provider, scope: scope)] else { return nil }
            let body = state.arena.withBytes(entry.answer) { bytes in
                var buffer = allocator.buffer(capacity: bytes.count)
                buffer.writeBytes(bytes)
                return buffer
            }
            return (entry.facts, body)
        }
    }

    /// Keeps `answer` for the key `facts` names, unless the vault changed
    /// since `stampBefore` was taken (before the key was read).
    func store(provider: String, scope: String, facts: ServedKeyFacts, answer: ByteBuffer, stampBefore: FileStamp) {
        state.withLockedValue { state in
            guard state.stamp == stampBefore else { return }
            let slot = answer.withUnsafeReadableBytes { state.arena.store($0) }
            state.entries[EntryKey(provider: provider, scope: scope)] = Entry(facts: facts, answer: slot)
        }
    }

    /// Runs the agent's own audit commit (`body`, given the observer to pass
    /// to the vault) so that the cache survives it. Every served value commits
    /// an audit event first, and each commit changes the WAL; without this,
    /// every commit would empty the cache. Inside the transaction (the write
    /// lock held, so no other process can commit) the cache is checked
    /// against the files once more; until the commit is confirmed, stamp
    /// changes are this commit's own. After it, the cache moves to the new
    /// stamp if SQLite's `data_version` shows that no other connection
    /// committed in between; otherwise, or if the commit failed, it is emptied.
    func observingOwnCommit<T, E: Error>(_ body: (CommitObserver) throws(E) -> T) throws(E) -> T {
        let stamps = OwnCommitStamps()
        let observer = CommitObserver(
            inTransaction: {
                let before = self.currentStamp()
                self.state.withLockedValue { state in
                    if state.stamp != before { state.removeAll(stamp: before) }
                    state.ownCommit = true
                }
            },
            afterCommit: { stamps.after = self.currentStamp() },
            confirm: { onlyThisCommit in
                stamps.confirmed = true
                self.state.withLockedValue { state in
                    state.ownCommit = false
                    if onlyThisCommit { state.stamp = stamps.after } else { state.removeAll(stamp: nil) }
                }
            })
        defer {
            if !stamps.confirmed {
                state.withLockedValue { state in
                    if state.ownCommit {
                        state.ownCommit = false
                        state.removeAll(stamp: nil)
                    }
                }
            }
        }
        return try body(observer)
    }

    /// A number that changes whenever the vault may have changed other than
    /// by the agent's own audit commits (``observingOwnCommit(_:)``): the
    /// gateway's pools and token checks are valid while it stays the same,
    /// so a flood of audited refusals does not empty them.
    func generation() -> Int {
        let stamp = currentStamp()
        return state.withLockedValue { state in
            if state.stamp != stamp, !state.ownCommit { state.removeAll(stamp: stamp) }
            return state.generation
        }
    }

    func clear() {
        state.withLockedValue { $0.removeAll(stamp: nil) }
    }

    /// The number of answers held, for tests.
    var count: Int { state.withLockedValue { $0.entries.count } }

    /// Inode, size and modification time (ns) of the vault's WAL, or the
    /// PostgreSQL change feed's count.
    func currentStamp() -> FileStamp {
        if let changes { return .changeCount(changes.count()) }
        return wal?.state ?? .missing
    }
}

/// One of the vault's files, kept open so that checking it is an `fstat`
/// (no path lookup on every request). Once the file is no longer linked at
/// its path (replaced, removed), or when it could not be opened, the path is
/// asked each time instead.
private final class WatchedFile: Sendable {
    private let path: String
    private let descriptor: Int32

    init(_ path: String) {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    var state: FileStamp {
        var info = stat()
        if descriptor >= 0, fstat(descriptor, &info) == 0, info.st_nlink > 0 { return FileStamp(info) }
        guard stat(path, &info) == 0 else { return .missing }
        return FileStamp(info)
    }
}

/// The state of the vault's WAL, which any commit changes.
struct FileStamp: Equatable, Sendable {
    var inode: UInt64
    var size: Int
    var seconds: Int
    var nanoseconds: Int

    static let missing = FileStamp(inode: 0, size: -1, seconds: -1, nanoseconds: -1)

    /// The stamp of a PostgreSQL vault: its change feed's count.
    static func changeCount(_ count: UInt64) -> FileStamp {
        FileStamp(inode: count, size: 0, seconds: 0, nanoseconds: 0)
    }

    init(inode: UInt64, size: Int, seconds: Int, nanoseconds: Int) {
        self.inode = inode
        self.size = size
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    init(_ info: stat) {
        #if canImport(Glibc)
        self.init(inode: UInt64(info.st_ino), size: Int(info.st_size), seconds: Int(info.st_mtim.tv_sec), nanoseconds: Int(info.st_mtim.tv_nsec))
        #else
        self.init(inode: UInt64(info.st_ino), size: Int(info.st_size), seconds: Int(info.st_mtimespec.tv_sec), nanoseconds: Int(info.st_mtimespec.tv_nsec))
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenCore
import KeywardenCrypto
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The agent's run tokens (`run --gateway`): gateway-only tokens that live in
/// the agent's memory, never in the vault, each bound to the process that
/// asked for it. A token stops working when that process exits, when its pid
/// is reused by another process (its start time differs), or when its TTL
/// passes. Lock and restart drop them all, since memory is all they have.
///
/// Only a keyed hash of each token is kept (the key is this object's own,
/// random), so the map holds nothing that could be presented.
public final class RunTokens: Sendable {
    /// A token and what it is bound to.
    struct Entry: Sendable {
        var token: AgentToken
        var hash: [UInt8]
        var pid: Int32
        /// `/proc/PID/stat` field 22 when minted; nil where it cannot be read.
        var startTime: UInt64?
        var program: String
    }

    /// Why a token was dropped, as the audit trail says it.
    public enum Revocation: Sendable, Equatable {
        case exited, expired

        var reason: String {
            switch self {
            case .exited: "the process exited"
            case .expired: "its --ttl ran out"
            }
        }
    }

    /// Also the key of ``GatewayTokens``' cache, so that a gateway request's
    /// token is hashed once for both lookups.
    let hashKey = SymmetricKey.random()
    private let entries = NIOLockedValueBox<[[UInt8]: Entry]>([:])

    public init() {}

    /// Mints a token for the process `pid` (the caller's, from
    /// `SO_PEERCRED`) that reads `providers` of `scope` through the gateway
    /// until `ttl` passes or the process exits. The secret is returned once,
    /// in guarded memory; only its hash is kept.
    public func mint(scope: String, providers: [String], pid: Int32, ttl: Duration, program: String) -> (token: SecureBytes, info: AgentToken) {
        let secret = AgentToken.newSecret()
        let now = Timestamp.now()
        let info = AgentToken(id: "rt_" + SecureBytes.random(count: 8).copyBytes().hexString, name: "run \(program) (pid \(pid))",
                              scopes: [scope], providers: providers, createdAt: now,
                              expiresAt: Timestamp(millisecondsSince1970: now.millisecondsSince1970 + Self.milliseconds(ttl)),
                              gatewayOnly: true)
        let hash = hash(secret)
        let entry = Entry(token: info, hash: hash, pid: pid, startTime: ProcessProbe.startTime(of: pid), program: program)
        entries.withLockedValue { $0[hash] = entry }
        return (secret, info)
    }

    /// The token `presented` is, while it is valid: unknown, expired and
    /// dead-process tokens are nil. The lookup is by keyed hash, then the
    /// hashes are compared in constant time.
    public func authenticate(_ presented: some Collection<UInt8>) -> AgentToken? {
        guard presented.count == Self.tokenLength, presented.starts(with: AgentToken.secretPrefix.utf8) else { return nil }
        var bytes = Array(presented)
        defer { Secrets.wipe(&bytes) }
        guard let hash = try? KeyedHash.hash([bytes], key: hashKey) else { return nil }
        return authenticate(presented, hash: hash)
    }

    /// The same, given the token's keyed hash under ``hashKey``.
    func authenticate(_ presented: some Collection<UInt8>, hash: [UInt8]) -> AgentToken? {
        guard presented.count == Self.tokenLength, presented.starts(with: AgentToken.secretPrefix.utf8),
              let entry = entries.withLockedValue({ $0[hash] }), constantTimeEquals(entry.hash, hash) else { return nil }
        if let expires = entry.token.expiresAt, expires <= Timestamp.now() { return nil }
        // A cheap check per request; the sweeper also catches a reused pid.
        guard ProcessProbe.isRunning(entry.pid) else { return nil }
        return entry.token
    }

    /// Drops the token with this id; returns it if it was there.
    @discardableResult
    public func revoke(id: String) -> AgentToken? {
        entries.withLockedValue { entries in
            guard let key = entries.first(where: { $0.value.token.id == id })?.key else { return nil }
            return entries.removeValue(forKey: key)?.token
        }
    }

    /// Drops every token (the agent locks or stops).
    public func revokeAll() {
        entries.withLockedValue { $0.removeAll() }
    }

    /// The tokens held now.
    public var tokens: [AgentToken] {
        entries.withLockedValue { $0.values.map(\.token) }
    }

    /// Drops the tokens whose process is gone (exited, or its pid now names
    /// another process) or whose TTL has passed, and returns them with the
    /// reason and the program they were minted for. The `/proc` reads happen
    /// outside the lock.
    func sweep(now: Timestamp = .now()) -> [(token: AgentToken, pid: Int32, program: String, why: Revocation)] {
        let current = entries.withLockedValue { Array($0.values) }
        var dropped: [(hash: [UInt8], why: Revocation)] = []
        for entry in current {
            if let expires = entry.token.expiresAt, expires <= now {
                dropped.append((entry.hash, .expired))
            } else if !ProcessProbe.isSame(entry.pid, startTime: entry.startTime) {
                dropped.append((entry.hash, .exited))
            }
        }
        guard !dropped.isEmpty else { return [] }
        return entries.withLockedValue { entries in
            dropped.compactMap { item in
                entries.removeValue(forKey: item.hash).map { ($0.token, $0.pid, $0.program, item.why) }
            }
        }
    }

    private func hash(_ secret: SecureBytes) -> [UInt8] {
        // Hashing with a fresh random key cannot fail once sodium is up,
        // which `SecureBytes.random` above already required.
        (try? KeyedHash.hash(secret, key: hashKey)) ?? []
    }

    /// `kwt_` and 43 base64url characters.
    static let tokenLength = AgentToken.secretPrefix.utf8.count + 43

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        // Clamped to a year: the arithmetic cannot overflow, whatever the caller passes.
        return min(max(seconds, 0), 366 * 86400) * 1000 + max(attoseconds, 0) / 1_000_000_000_000_000
    }
}

/// What the kernel says about a process, for binding a token to it.
enum ProcessProbe {
    /// Whether `pid` names a process that has not exited: `kill(pid, 0)`
    /// fails with `ESRCH` only when there is none (`EPERM` means another
    /// user's process, still running).
    static func isRunning(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno != ESRCH
    }

    /// Whether `pid` still names the process seen at mint time: running, not
    /// a zombie (an exited child its parent has not reaped), and started at
    /// `startTime` (a reused pid starts later).
    static func isSame(_ pid: Int32, startTime: UInt64?) -> Bool {
        guard isRunning(pid) else { return false }
        guard let stat = stat(of: pid) else {
            // Without /proc (another OS) only the pid can be checked.
            return startTime == nil
        }
        if stat.state == "Z" || stat.state == "X" { return false }
        return startTime == nil || stat.startTime == startTime
    }

    /// Field 22 of `/proc/PID/stat`: when the process started, in clock
    /// ticks after boot. An `execve` keeps it; a new process with the same pid does not.
    static func startTime(of pid: Int32) -> UInt64? {
        stat(of: pid)?.startTime
    }

    /// State (field 3) and start time (field 22). The command name (field 2)
    /// is in parentheses and may hold spaces or parentheses itself, so the
    /// fields are counted from its last `)`.
    static func stat(of pid: Int32) -> (state: Character, startTime: UInt64)? {
        guard pid > 0, let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = fread(&buffer, 1, buffer.count, file)
        guard count > 0, let close = buffer[..<count].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(close + 1)..<count].split(separator: UInt8(ascii: " "))
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19, let state = fields[0].first,
              let start = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        return (Character(UnicodeScalar(state)), start)
    }
}

/// Where the gateway's TCP listener is, once it is bound (port 0 picks one):
/// `run --gateway` hands this URL to programs. nil until then, and in an
/// agent without a gateway.
public final class GatewayAddress: Sendable {
    private let value = NIOLockedValueBox<String?>(nil)

    public init() {}

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    public var url: String? {
        get { value.withLockedValue { $0 } }
        set { value.withLockedValue { $0 = newValue } }
    }
}

/// Drops run tokens whose process has gone or whose TTL has passed, once a
/// second, each with a `token.revoke` event. Runs in the agent's service
/// group next to the rotation scheduler.
public struct RunTokenSweeper: Service {
    let tokens: RunTokens
    let audit: AuditJournal
    let interval: Duration

    public init(tokens: RunTokens, audit: AuditJournal, interval: Duration = .seconds(1)) {
        self.tokens = tokens
        self.audit = audit
        self.interval = interval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                sweep()
            }
        }
        // Memory only: nothing to keep once the agent stops.
        tokens.revokeAll()
    }

    /// One pass: drop, then record (a revocation releases nothing, so its
    /// event need not be waited for).
    public func sweep() {
        for (token, pid, program, why) in tokens.sweep() {
            audit.post(AuditDraft(action: "token.revoke", scope: token.scopes.first, outcome: "ok",
                                  detail: "ephemeral gateway token for run \(program), pid \(pid): \(why.reason)"))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPeerCredentials
import Foundation
import KeywardenClient
import KeywardenCore
import KeywardenServer

/// A locked agent still holds its socket, so a plain restart (`keywarden serve`)
/// would be refused as "already serving". A locked agent serves nothing and holds
/// no key, so `serve` may replace it — but only one that is provably ours: the
/// socket file is the caller's, the kernel says the listener runs as the caller
/// (`SO_PEERCRED`), and it answers `/v1/health` with `locked: true`. An unlocked
/// agent, or anyone else's, is never touched.
enum LockedAgent {
    /// How long the old agent gets to finish in-flight requests, write its audit
    /// batch and remove its socket after SIGTERM.
    static let stopTimeout: Duration = .seconds(10)

    /// The pid of the locked agent of this user listening at `path`, or nil when
    /// the agent there is unlocked, someone else's, or cannot be identified.
    /// One connection answers both questions: who listens (the kernel's word,
    /// read when it was made, before anything is sent) and whether it is locked.
    static func lockedPID(at path: String) async -> Int32? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_uid == getuid() else { return nil }
        // The same trust checks as for any command; a refusal is not worth a warning here.
        guard let agent = await AgentConnector.reach(socket: path, command: "keywarden serve", warn: { _ in }) else { return nil }
        let peer = agent.peer
        guard peer.uid == getuid(), peer.pid > 0, peer.pid != getpid() else { return nil }
        return await agent.health()?.locked == true ? peer.pid : nil
    }

    /// The old synchronous form, kept only until `serve` awaits
    /// ``lockedPID(at:)``; it still asks through the raw `AgentClient`.
    @available(*, deprecated, renamed: "lockedPID(at:)")
    static func pid(at path: String) -> Int32? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_uid == getuid() else { return nil }
        guard let peer = listener(at: path), peer.uid == getuid(), peer.pid > 0, peer.pid != getpid() else { return nil }
        guard let answer = try? AgentClient(path: path).request("GET", "/v1/health"), answer.status == 200,
              let health = try? JSONDecoder().decode(AgentHealth.self, from: Data(answer.body)) else { return nil }
        return health.locked ? peer.pid : nil
    }

    /// Asks the locked agent `pid` to stop (SIGTERM: it finishes in-flight
    /// requests, writes its audit batch, removes its socket) and waits until
    /// its socket no longer answers.
    static func stop(_ pid: Int32, at path: String) throws(KeywardenError) {
        guard kill(pid, SIGTERM) == 0 || errno == ESRCH else {
            throw KeywardenError(.failed, "cannot stop the locked agent (pid \(pid)) at \(path): \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + stopTimeout
        while AgentSocket.isLive(path) {
            guard ContinuousClock.now < deadline else {
                throw KeywardenError(.failed, "the locked agent (pid \(pid)) at \(path) did not stop within \(stopTimeout); stop it with `kill \(pid)` and run `keywarden serve` again")
            }
            usleep(20_000)
        }
    }

    /// The uid and pid of the process listening on `path`, from the kernel
    /// (only for the deprecated ``pid(at:)``).
    private static func listener(at path: String) -> (uid: UInt32, pid: Int32)? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in for (i, b) in bytes.enumerated() { buffer[i] = b } }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return nil }
        var credentials = kw_ucred()
        var length = socklen_t(MemoryLayout<kw_ucred>.size)
        guard getsockopt(fd, SOL_SOCKET, kw_so_peercred(), &credentials, &length) == 0 else { return nil }
        return (credentials.uid, credentials.pid)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
}

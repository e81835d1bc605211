import ArgumentParser
import Foundation
import KeywardenCore
import KeywardenServer

struct Lock: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lock the running agent: it wipes the master key and answers every later request \"locked\".",
        discussion: """
        To unlock again, run `keywarden serve`: it unlocks the vault, stops the locked agent
        of the same user (SIGTERM) and takes over its socket. An unlocked agent is never replaced.

        Examples:
          keywarden lock
          KEYWARDEN_SOCKET=/run/keywarden/agent.sock keywarden lock
        """
    )

    func run() throws {
        let environment = Session.environment
        guard let client = AgentClient.available(environment: environment) else {
            throw KeywardenError(.notFound, "no unlocked agent answers at \(AgentSocket.defaultPath(environment: environment)); nothing to lock")
        }
        let before = client.health()?.startedAt
        _ = try client.check(client.request("POST", "/v1/lock"))
        // The agent answers first, then replaces its process image with a
        // locked one (nothing of the vault survives in its memory). Say
        // "locked" only once the new image answers, so that the next command
        // (`serve`, a script's check) meets the locked agent, not the old one.
        let deadline = ContinuousClock.now + .seconds(20)
        var restarted = false
        while !restarted && ContinuousClock.now < deadline {
            if let health = client.health(), health.locked, health.startedAt != before {
                restarted = true
            } else {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        guard restarted else {
            throw KeywardenError(.failed, "the agent at \(client.path) accepted the lock but has not restarted without the vault within 20 s; stop it (SIGTERM) and start `keywarden serve` again")
        }
        Output.line("The agent at \(client.path) is locked.")
        Output.line("To unlock, run `keywarden serve` (with the same socket): it unlocks the vault and replaces the locked agent.")
    }
}

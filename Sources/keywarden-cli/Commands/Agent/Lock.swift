import ArgumentParser
import KeywardenClient
import KeywardenCore

struct Lock: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Lock the running agent: it wipes the master key and answers every later request \"locked\".",
        discussion: """
        To unlock again, run `keywarden serve`: it unlocks the vault, stops the locked agent
        of the same user (SIGTERM) and takes over its socket. An unlocked agent is never replaced.

        Examples:
          keywarden lock
          KEYWARDEN_SOCKET=/run/keywarden/agent.sock keywarden lock
        """
    )

    func run(_ context: CLIContext) async throws {
        let path = AgentSocketPath.resolve(environment: context.environment)
        // Only an agent can be locked: without one there is no vault to open here.
        guard let agent = await AgentConnector.connect(environment: context.environment, command: "keywarden lock",
                                                       warn: { context.output.error("keywarden: \($0)") }) else {
            throw KeywardenError(.notFound, "no unlocked agent answers at \(path); nothing to lock")
        }
        let before = await agent.health()?.startedAt
        do {
            try await agent.lockAgent()
        } catch let error as KeywardenError where error.kind == .locked {
            // The agent locks before it answers, so it may answer "locked":
            // the restart below is the proof either way.
        }
        // The agent answers first, then replaces its process image with a
        // locked one (nothing of the vault survives in its memory). Say
        // "locked" only once the new image answers, so that the next command
        // (`serve`, a script's check) meets the locked agent, not the old one.
        let deadline = ContinuousClock.now + .seconds(20)
        var restarted = false
        while !restarted && ContinuousClock.now < deadline {
            // A new connection each time: the old image closed ours.
            if let health = await AgentConnector.reach(socket: path, command: "keywarden lock", warn: { _ in })?.health(),
               health.locked, health.startedAt != before {
                restarted = true
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        guard restarted else {
            throw KeywardenError(.failed, "the agent at \(path) accepted the lock but has not restarted without the vault within 20 s; stop it (SIGTERM) and start `keywarden serve` again")
        }
        context.output.line("The agent at \(path) is locked.")
        context.output.line("To unlock, run `keywarden serve` (with the same socket): it unlocks the vault and replaces the locked agent.")
    }
}

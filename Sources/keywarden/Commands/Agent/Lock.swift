import ArgumentParser
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
        _ = try client.check(client.request("POST", "/v1/lock"))
        Output.line("The agent at \(client.path) is locked.")
        Output.line("To unlock, run `keywarden serve` (with the same socket): it unlocks the vault and replaces the locked agent.")
    }
}

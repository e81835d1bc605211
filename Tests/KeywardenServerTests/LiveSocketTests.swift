#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Hummingbird
import KeywardenClient
import KeywardenCore
@testable import KeywardenServer
import Logging
import ServiceLifecycle
import Testing

@Suite("The agent's application on a real Unix socket")
struct LiveSocketTests {
    @Test("the kernel names the caller (SO_PEERCRED) and KeywardenClient performs operations through the same application")
    func throughTheClient() async throws {
        // The real peer source; this process's uid is the owner.
        let fixture = try AgentFixture(peers: KernelPeers(), owner: getuid())
        let (running, started) = AsyncStream.makeStream(of: Void.self)
        let app = fixture.application(onRunning: { started.yield() })
        let services = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "agent-test")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            for await _ in running { break }
            var warning: String?
            let agent = try #require(await AgentConnector.reach(socket: fixture.directory.file("agent.sock"), command: "keywarden key list",
                                                               warn: { warning = $0 }), "\(warning ?? "no agent")")
            #expect(await agent.health()?.locked == false)
            let keys = try await agent.listKeys(KeyFilter(scope: "prod"))
            #expect(Set(keys.map(\.id)) == [fixture.prodAnthropic.id, fixture.prodOpenAI.id])
            // A domain error crosses the socket as the same KeywardenError.
            let error = await #expect(throws: KeywardenError.self) { try await agent.key(id: "k_doesnotexist") }
            #expect(error?.kind == .notFound)
            let revealed = try await agent.revealKey(id: fixture.prodAnthropic.id, purpose: "live test")
            #expect(revealed.value.withUnsafeBytes { Array($0) } == Array(TestKeys.anthropic.utf8))
            // A graceful shutdown, as on SIGTERM.
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        // Audited with this process's uid and pid, from the kernel, and the command it named.
        let reveal = try #require(try fixture.committedEvents("key.reveal").first)
        #expect(reveal.uid == Int64(getuid()) && reveal.pid == Int64(getpid()))
        #expect(reveal.actor == "keywarden key list (via agent)")
        #expect(access(fixture.directory.file("agent.sock"), F_OK) != 0, "the socket is removed at shutdown")
    }
}

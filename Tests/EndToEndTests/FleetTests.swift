import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

/// A fleet: three hosts, each with its own keyfile slot, socket, state
/// folder and agent, sharing one vault in PostgreSQL. Each test has a
/// server of its own (it stops or restarts it, or kills agents), so the
/// suite's shared server is left alone.
@Suite("End to end: a fleet of hosts on one PostgreSQL vault", .serialized, .enabled(if: PrivatePostgresServer.isAvailable))
struct FleetTests {
    /// Host 0 creates the vault; the others get keyfile slots of their own.
    func fleet(_ url: String, hosts: Int = 3) throws -> [CLIHarness] {
        var clis: [CLIHarness] = []
        for index in 0..<hosts {
            let cli = CLIHarness()
            cli.environment["KEYWARDEN_DATABASE_URL"] = url
            if index == 0 {
                try cli.ok(["init", "--keyfile", cli.keyfile, "--scope", "prod"])
            } else {
                try clis[0].ok(["keyslot", "add", "keyfile", cli.keyfile])
            }
            clis.append(cli)
        }
        return clis
    }

    func get(_ cli: CLIHarness, _ path: String) -> (status: Int, body: String) {
        guard let result = try? CommandRunner.run("/usr/bin/curl", ["-s", "--max-time", "5", "-w", "\n%{http_code}", "--unix-socket", cli.environment["KEYWARDEN_SOCKET"]!, "http://k\(path)"],
                                                  environment: cli.environment, timeout: 10) else { return (0, "") }
        let lines = result.out.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    func eventually(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try condition() { return true }
            if Date() >= deadline { return false }
            usleep(20_000)
        }
    }

    static let old = "sk-ant-api03-valid-old-" + String(repeating: "o", count: 60)
    static let new = "sk-ant-api03-valid-new-" + String(repeating: "n", count: 60)

    @Test("rotate on one host: all three agents serve the new key within 1 s; the chain verifies")
    func rotationReachesEveryHost() async throws {
        let server = try PrivatePostgresServer()
        try await withMock { mock in
            let hosts = try fleet(try server.createDatabase())
            try hosts[0].ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
            _ = try hosts[0].addKey("anthropic", scope: "prod", value: Self.old)
            _ = try hosts[0].addKey("anthropic", scope: "prod", value: Self.new)
            for host in hosts { try host.startAgent(extra: ["--rotation-interval", "off"]) }
            // Every agent holds the old key (cached).
            for host in hosts {
                #expect(get(host, "/v1/keys/anthropic?scope=prod").body.contains(Self.old))
            }
            try hosts[0].ok(["rotate", "anthropic", "--scope", "prod"])
            let rotatedAt = Date()
            for (index, host) in hosts.enumerated() {
                let served = eventually(seconds: 1.0) { get(host, "/v1/keys/anthropic?scope=prod").body.contains(Self.new) }
                #expect(served, "host \(index) did not serve the rotated key within 1 s")
            }
            let elapsed = Date().timeIntervalSince(rotatedAt)
            #expect(elapsed < 1.5, "the three hosts took \(elapsed) s")
            #expect(try hosts[1].ok(["audit", "verify"]).out.contains("intact"))
        }
    }

    @Test("one rotation scheduler across hosts: kill -9 the leader, another takes over within an interval and rotates")
    func schedulerLeaderFailover() async throws {
        let server = try PrivatePostgresServer()
        try await withMock { mock in
            let hosts = try fleet(try server.createDatabase())
            try hosts[0].ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
            for host in hosts { try host.startAgent(extra: ["--rotation-interval", "1s"]) }
            func leaders() -> [Int] {
                hosts.indices.filter { get(hosts[$0], "/metrics").body.contains("\nkeywarden_scheduler_leader 1\n") }
            }
            #expect(eventually(seconds: 5) { leaders().count == 1 }, "no single leader: \(leaders())")
            let first = try #require(leaders().first)
            // Never two at once, over a few ticks.
            for _ in 0..<10 {
                #expect(leaders().count <= 1)
                usleep(200_000)
            }
            kill(hosts[first].agentProcessID, SIGKILL)
            let others = hosts.indices.filter { $0 != first }
            let tookOver = eventually(seconds: 3) { others.contains { get(hosts[$0], "/metrics").body.contains("\nkeywarden_scheduler_leader 1\n") } }
            #expect(tookOver, "no other agent took the scheduler over within 3 s (interval 1 s)")
            // The new leader rotates what is due: a policy due now, and a standby key.
            let survivor = hosts[others[0]]
            _ = try survivor.addKey("anthropic", scope: "prod", value: Self.old)
            _ = try survivor.addKey("anthropic", scope: "prod", value: Self.new)
            try survivor.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--every", "1s", "--grace", "1h"])
            let rotated = eventually(seconds: 10) {
                others.allSatisfy { get(hosts[$0], "/v1/keys/anthropic?scope=prod").body.contains(Self.new) }
            }
            #expect(rotated, "the new leader did not rotate the due pool")
            let audit = try survivor.ok(["audit", "--action", "key.rotate"]).out
            #expect(audit.contains("key.rotate"))
            #expect(try survivor.ok(["audit", "verify"]).out.contains("intact"))
        }
    }

    @Test("concurrent writes from three hosts: every one lands, the audit chain stays one chain")
    func concurrentWritesKeepOneChain() async throws {
        let server = try PrivatePostgresServer()
        let hosts = try fleet(try server.createDatabase())
        for host in hosts { try host.startAgent(extra: ["--rotation-interval", "off"]) }
        let perHost = 15
        DispatchQueue.concurrentPerform(iterations: hosts.count) { index in
            for n in 0..<perHost {
                _ = try? hosts[index].run(["config", "set", "HOST\(index)_VALUE_\(n)", "v\(n)", "--scope", "prod"])
            }
        }
        let list = try hosts[2].ok(["config", "list", "--scope", "prod"]).out
        for index in hosts.indices {
            for n in 0..<perHost { #expect(list.contains("HOST\(index)_VALUE_\(n)"), "HOST\(index)_VALUE_\(n) is missing") }
        }
        let verified = try hosts[1].ok(["audit", "verify"]).out
        #expect(verified.contains("intact"), "\(verified)")
    }

    @Test("PostgreSQL stops in the middle of traffic: agents keep serving their keys, writes fail clearly, then resume; the outage's events reach the chain")
    func databaseOutage() async throws {
        let server = try PrivatePostgresServer()
        let hosts = try fleet(try server.createDatabase(), hosts: 2)
        _ = try hosts[0].addKey("anthropic", scope: "prod", value: Self.old)
        for host in hosts { try host.startAgent(extra: ["--rotation-interval", "off", "--database-outage-grace", "1m"]) }
        for host in hosts { #expect(get(host, "/v1/keys/anthropic?scope=prod").body.contains(Self.old)) }
        let eventsBefore = try hosts[0].ok(["audit", "--action", "agent.serve", "--json"]).out.components(separatedBy: "\"agent.serve\"").count
        try server.pause()
        // Reads keep succeeding from what each agent holds.
        var served = 0
        for _ in 0..<20 {
            for host in hosts where get(host, "/v1/keys/anthropic?scope=prod").body.contains(Self.old) { served += 1 }
            usleep(50_000)
        }
        #expect(served == 40, "only \(served) of 40 reads were served during the outage")
        // A write fails with a message naming the database.
        let write = try hosts[1].run(["config", "set", "DURING_OUTAGE", "x", "--scope", "prod"])
        #expect(write.status != 0)
        #expect(write.err.contains("vault database"), "\(write.err)")
        try server.resume()
        // Writes resume once it is back.
        #expect(try eventually(seconds: 10) { try hosts[1].run(["config", "set", "AFTER_OUTAGE", "y", "--scope", "prod"]).status == 0 })
        // The serves of the outage were kept on each host and are written into
        // the chain once the database answers, with nothing else to carry them.
        let chained = eventually(seconds: 10) {
            let events = (try? hosts[0].ok(["audit", "--action", "agent.serve", "--json"]).out) ?? ""
            return events.components(separatedBy: "\"agent.serve\"").count > eventsBefore
        }
        #expect(chained, "no serve of the outage reached the audit trail")
        #expect(try hosts[0].ok(["audit", "verify"]).out.contains("intact"))
    }

    @Test("past the outage grace an agent stops serving: 503, nothing leaves without a durable audit event")
    func outageGraceIsBounded() async throws {
        let server = try PrivatePostgresServer()
        let hosts = try fleet(try server.createDatabase(), hosts: 1)
        _ = try hosts[0].addKey("anthropic", scope: "prod", value: Self.old)
        try hosts[0].startAgent(extra: ["--rotation-interval", "off", "--database-outage-grace", "2s"])
        #expect(get(hosts[0], "/v1/keys/anthropic?scope=prod").status == 200)
        try server.pause()
        #expect(get(hosts[0], "/v1/keys/anthropic?scope=prod").status == 200)
        sleep(3)
        let late = get(hosts[0], "/v1/keys/anthropic?scope=prod")
        #expect(late.status == 503, "served \(late.status) past the grace: \(late.body)")
        #expect(!late.body.contains(Self.old))
        try server.resume()
        #expect(eventually(seconds: 10) { get(hosts[0], "/v1/keys/anthropic?scope=prod").status == 200 })
    }
}

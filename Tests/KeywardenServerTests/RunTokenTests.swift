#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KeywardenCore
@testable import KeywardenServer
import Testing

@Suite("Run tokens: in memory, gateway-only, bound to a process and dropped when it exits")
struct RunTokenTests {
    /// The token's text, as a program would send it.
    func text(_ secret: Secret) -> String { secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    /// A child that exits after `seconds`; Foundation reaps it.
    func child(exitingAfter seconds: Double) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "sleep \(seconds)"]
        try process.run()
        return process
    }

    @Test("a minted token authenticates as a gateway-only token for its scope and providers; anything else does not")
    func mintAndAuthenticate() throws {
        let tokens = RunTokens()
        let (secret, info) = tokens.mint(scope: "prod", providers: ["anthropic", "openai"], pid: getpid(), ttl: .seconds(60), program: "python")
        let token = text(secret)
        #expect(token.hasPrefix("kwt_") && token.utf8.count == 47, "shaped like the vault's tokens")
        #expect(info.gatewayOnly && info.scopes == ["prod"] && info.providers == ["anthropic", "openai"])
        #expect(info.name == "run python (pid \(getpid()))")
        #expect(info.id.hasPrefix("rt_"))
        #expect(try #require(info.expiresAt).millisecondsSince1970 - info.createdAt.millisecondsSince1970 == 60_000)

        #expect(tokens.authenticate(Array(token.utf8)) == info)
        #expect(tokens.authenticate(token.utf8) == info, "any collection of bytes")
        var altered = Array(token.utf8)
        altered[20] = altered[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(tokens.authenticate(altered) == nil)
        #expect(tokens.authenticate(Array(token.utf8.dropLast())) == nil)
        #expect(tokens.authenticate(Array("sk-ant-api03-xyz".utf8)) == nil)
        #expect(tokens.authenticate([UInt8]()) == nil)
        #expect(RunTokens().authenticate(Array(token.utf8)) == nil, "another agent's tokens mean nothing here")

        let (second, _) = tokens.mint(scope: "dev", providers: ["openai"], pid: getpid(), ttl: .seconds(60), program: "node")
        #expect(text(second) != token)
        #expect(tokens.tokens.count == 2)
    }

    @Test("an expired token no longer authenticates, and the sweep drops it as expired")
    func expiry() async throws {
        let tokens = RunTokens()
        let (secret, info) = tokens.mint(scope: "prod", providers: ["anthropic"], pid: getpid(), ttl: .milliseconds(150), program: "sh")
        #expect(tokens.authenticate(Array(text(secret).utf8)) != nil)
        try await Task.sleep(for: .milliseconds(300))
        #expect(tokens.authenticate(Array(text(secret).utf8)) == nil)
        let dropped = tokens.sweep()
        #expect(dropped.map(\.token.id) == [info.id])
        #expect(dropped.first?.why == .expired)
        #expect(tokens.tokens.isEmpty)
    }

    @Test("a token bound to a child stops working once the child exits, and the sweep drops it (not before)")
    func deadProcess() async throws {
        let tokens = RunTokens()
        let process = try child(exitingAfter: 0.3)
        let pid = process.processIdentifier
        let (secret, info) = tokens.mint(scope: "prod", providers: ["anthropic"], pid: pid, ttl: .seconds(3600), program: "sleep")
        let (mine, _) = tokens.mint(scope: "prod", providers: ["anthropic"], pid: getpid(), ttl: .seconds(3600), program: "test")
        #expect(tokens.authenticate(Array(text(secret).utf8)) == info)
        #expect(tokens.sweep().isEmpty, "a running process keeps its token")
        process.waitUntilExit()
        // Foundation reaps the child on its own thread; wait for the pid to go.
        let deadline = ContinuousClock.now + .seconds(5)
        while ProcessProbe.isRunning(pid), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(tokens.authenticate(Array(text(secret).utf8)) == nil)
        let dropped = tokens.sweep()
        #expect(dropped.count == 1)
        #expect(dropped.first?.token.id == info.id && dropped.first?.pid == pid && dropped.first?.why == .exited)
        #expect(tokens.authenticate(Array(text(mine).utf8)) != nil, "other tokens stay")
    }

    @Test("an exited child not yet reaped (a zombie) counts as gone, and so does a pid whose start time changed")
    func zombieAndReusedPID() throws {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        try #require(posix_spawn(&pid, "/bin/true", nil, nil, &argv, environ) == 0)
        let start = ProcessProbe.startTime(of: pid)
        var zombie = false
        for _ in 0..<200 where !zombie {
            zombie = ProcessProbe.stat(of: pid)?.state == "Z"
            usleep(10_000)
        }
        #expect(zombie)
        #expect(ProcessProbe.isRunning(pid), "kill(pid, 0) still succeeds for a zombie")
        #expect(!ProcessProbe.isSame(pid, startTime: start))
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(!ProcessProbe.isRunning(pid))

        let own = try #require(ProcessProbe.startTime(of: getpid()))
        #expect(ProcessProbe.isSame(getpid(), startTime: own))
        #expect(!ProcessProbe.isSame(getpid(), startTime: own + 1), "another process under the same pid")
        #expect(!ProcessProbe.isRunning(0) && !ProcessProbe.isRunning(-1))
    }

    @Test("revoke by id and revokeAll drop tokens at once")
    func revoke() {
        let tokens = RunTokens()
        let (a, infoA) = tokens.mint(scope: "prod", providers: ["anthropic"], pid: getpid(), ttl: .seconds(60), program: "a")
        let (b, _) = tokens.mint(scope: "prod", providers: ["anthropic"], pid: getpid(), ttl: .seconds(60), program: "b")
        #expect(tokens.revoke(id: infoA.id) == infoA)
        #expect(tokens.revoke(id: infoA.id) == nil)
        #expect(tokens.authenticate(Array(text(a).utf8)) == nil)
        #expect(tokens.authenticate(Array(text(b).utf8)) != nil)
        tokens.revokeAll()
        #expect(tokens.authenticate(Array(text(b).utf8)) == nil)
        #expect(tokens.tokens.isEmpty)
    }

    @Test("the sweeper records token.revoke for a token whose process exited")
    func sweeperAudits() async throws {
        let fixture = try AgentFixture()
        let tokens = fixture.agent.runTokens
        let process = try child(exitingAfter: 0.1)
        let pid = process.processIdentifier
        _ = tokens.mint(scope: "prod", providers: ["anthropic"], pid: pid, ttl: .seconds(3600), program: "python")
        process.waitUntilExit()
        let sweeper = RunTokenSweeper(tokens: tokens, audit: fixture.agent.audit)
        // One pass, called directly: the agent's loop only repeats it every
        // second, and a timed loop here would depend on a busy test machine.
        sweeper.sweep()
        #expect(tokens.tokens.isEmpty)
        // The event is posted, not awaited: it joins the journal's next commit.
        var events: [AuditEvent] = []
        for _ in 0..<200 where events.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            events = try fixture.committedEvents("token.revoke")
        }
        #expect(events.count == 1)
        #expect(events.first?.detail == "ephemeral gateway token for run python, pid \(pid): the process exited")
    }

    @Test("agent.gateway-token: the owner gets a token, base URLs and the scope's config; provider keys are to be unset; audited")
    func operation() async throws {
        let fixture = try AgentFixture()
        fixture.agent.gatewayAddress.url = "http://127.0.0.1:8788"
        try await fixture.test { client in
            let answer = try await client.perform(AgentControl.GatewayToken(scope: "prod", program: "python"))
            #expect(answer.status == 200, "\(answer.body)")
            let response = try JSONDecoder().decode(AgentControl.GatewayToken.Response.self, from: Data(answer.body.utf8))
            let values = response.variables.mapValues(text)
            let token = text(response.token)
            #expect(response.gatewayURL == "http://127.0.0.1:8788")
            #expect(values["ANTHROPIC_API_KEY"] == token && values["OPENAI_API_KEY"] == token)
            #expect(values["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8788/anthropic")
            #expect(values["OPENAI_BASE_URL"] == "http://127.0.0.1:8788/openai/v1")
            #expect(values["KEYWARDEN_GATEWAY_URL"] == "http://127.0.0.1:8788")
            #expect(values["APP_URL"] == "https://app.example" && values["DATABASE_URL"] == TestKeys.databaseURL, "config as `run` delivers it")
            #expect(Set(values.keys) == ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "KEYWARDEN_GATEWAY_URL", "APP_URL", "DATABASE_URL"])
            for name in ["CLAUDE_API_KEY", "ANTHROPIC_AUTH_TOKEN", "GROQ_API_KEY", "GEMINI_API_KEY"] { #expect(response.unset.contains(name), "\(name)") }
            #expect(!response.unset.contains("ANTHROPIC_API_KEY") && !response.unset.contains("OPENAI_API_KEY"))
            #expect(!answer.body.contains(TestKeys.anthropic) && !answer.body.contains(TestKeys.openai))

            let held = try #require(fixture.agent.runTokens.authenticate(Array(token.utf8)) ?? fixture.agent.runTokens.tokens.first)
            #expect(held.gatewayOnly && held.scopes == ["prod"] && Set(held.providers) == ["anthropic", "openai"])
            #expect(held.name == "run python (pid 4242)", "bound to the caller's pid (SO_PEERCRED; HeaderPeers says 4242)")

            #expect(values["KEYWARDEN_GATEWAY_IN_HOUSE"] == nil, "no key for it yet")
            let only = try await client.perform(AgentControl.GatewayToken(scope: "prod", providers: ["openai"], ttl: DurationSpec(seconds: 60), program: "node"))
            let narrowed = try JSONDecoder().decode(AgentControl.GatewayToken.Response.self, from: Data(only.body.utf8))
            #expect(narrowed.variables["ANTHROPIC_API_KEY"] == nil && narrowed.unset.contains("ANTHROPIC_API_KEY"))
            #expect(narrowed.variables["OPENAI_API_KEY"] != nil)

            let missing = try await client.perform(AgentControl.GatewayToken(scope: "prod", providers: ["groq"]))
            #expect(missing.status == 404)
            let badTTL = try await client.perform(AgentControl.GatewayToken(scope: "prod", ttl: DurationSpec(seconds: 0)))
            #expect(badTTL.status == 400)
            let other = try await client.perform(AgentControl.GatewayToken(scope: "prod"), as: .other(token: try fixture.token("reader")))
            #expect(other.status == 403, "owner only")
        }
        // A custom provider: its SDK variable is unknown, so the URL goes to KEYWARDEN_GATEWAY_<NAME>.
        let custom = ProviderDefinition(name: "in-house", displayName: "In-house", baseURL: "https://llm.example", auth: .bearer, env: "INHOUSE_API_KEY")
        let customJSON = String(decoding: try JSONEncoder().encode(custom), as: UTF8.self)
        #expect(!customJSON.contains("sdkBase"), "nil SDK fields are not written: stored custom providers keep their JSON and MAC")
        try fixture.vault.addProvider(custom)
        _ = try fixture.vault.addKey(provider: "in-house", scope: "prod", label: nil, env: nil, value: Secrets.secret(copying: "inhouse-key-123456".utf8),
                                     activate: false, force: true)
        try await fixture.test { client in
            let answer = try await client.perform(AgentControl.GatewayToken(scope: "prod", providers: ["in-house"]))
            let response = try JSONDecoder().decode(AgentControl.GatewayToken.Response.self, from: Data(answer.body.utf8))
            #expect(response.variables["KEYWARDEN_GATEWAY_IN_HOUSE"].map(text) == "http://127.0.0.1:8788/in-house")
            #expect(response.variables["INHOUSE_API_KEY"].map(text) == text(response.token))
            #expect(!answer.body.contains("inhouse-key-123456"))
        }
        let created = try fixture.committedEvents("token.create").filter { $0.detail?.hasPrefix("ephemeral gateway token") == true }
        #expect(created.count == 3)
        #expect(created.first?.detail == "ephemeral gateway token for run python, pid 4242; providers anthropic,openai; revoked when it exits")
        #expect(try fixture.committedEvents("run").contains { $0.detail?.contains("APP_URL") == true }, "config delivery audited as `run`")
    }

    @Test("without a gateway the agent answers 409; in-process the operation says to start the agent")
    func needsGateway() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            let answer = try await client.perform(AgentControl.GatewayToken(scope: "prod"))
            #expect(answer.status == 409)
            #expect(try failure(answer.body).error.hasPrefix("the agent runs without --gateway"))
        }
        #expect(fixture.agent.runTokens.tokens.isEmpty)
        let local = LocalService(vault: fixture.vault, caller: ServiceCaller(actor: AuditActor(uid: 1, pid: 1, name: "test")))
        let error = await #expect(throws: KeywardenError.self) { try await local.perform(AgentControl.GatewayToken(scope: "prod")) }
        #expect(error?.message == "run --gateway needs the agent: start it with `keywarden serve --gateway`")
        #expect(error?.exitCode == 2)
    }

    @Test("AgentToken: gateway_only is written only when true; JSON without it reads as false")
    func tokenJSON() throws {
        let plain = AgentToken(id: "t_1", name: "ci", scopes: ["prod"], providers: [], createdAt: Timestamp(millisecondsSince1970: 0), expiresAt: nil)
        let json = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        #expect(!json.contains("gateway_only"))
        #expect(try JSONDecoder().decode(AgentToken.self, from: Data(json.utf8)) == plain)
        var run = plain
        run.gatewayOnly = true
        let runJSON = String(decoding: try JSONEncoder().encode(run), as: UTF8.self)
        #expect(runJSON.contains("\"gateway_only\":true"))
        #expect(try JSONDecoder().decode(AgentToken.self, from: Data(runJSON.utf8)).gatewayOnly)
    }
}

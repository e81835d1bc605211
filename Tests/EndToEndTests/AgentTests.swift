import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

@Suite("End to end: the agent on its Unix socket", .serialized)
struct AgentTests {
    /// A vault with keys in prod and dev, and a config entry.
    func vault() throws -> (CLIHarness, String, String) {
        let cli = CLIHarness()
        try cli.initVault()
        let prod = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("p"))
        _ = try cli.addKey("openai", scope: "prod", value: FakeKeys.openai("q"))
        _ = try cli.addKey("anthropic", scope: "dev", value: FakeKeys.anthropic("d"))
        try cli.ok(["config", "set", "APP_URL", "https://app.example", "--scope", "prod"])
        return (cli, prod, FakeKeys.anthropic("p"))
    }

    func curl(_ cli: CLIHarness, _ arguments: [String], asNobody: Bool = false) throws -> CommandResult {
        let base = ["-s", "-w", "\n%{http_code}", "--unix-socket", cli.environment["KEYWARDEN_SOCKET"]!]
        if asNobody {
            return try CommandRunner.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/curl"] + base + arguments, environment: cli.environment)
        }
        return try CommandRunner.run("/usr/bin/curl", base + arguments, environment: cli.environment)
    }

    func status(_ result: CommandResult) -> Int { Int(result.out.split(separator: "\n").last ?? "") ?? 0 }
    func body(_ result: CommandResult) -> String { result.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().joined(separator: "\n") }

    @Test("serve: 0600 socket in a 0700 folder even under umask 000; curl and Python read a key and the env; metrics hold no secret")
    func serveAndRead() throws {
        let (cli, prodID, prodKey) = try vault()
        let agent = try RunningAgent(cli, umaskZero: true)
        let socket = agent.socket
        func mode(_ path: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue }
        #expect(try mode(socket) == 0o600)
        #expect(try mode((socket as NSString).deletingLastPathComponent) == 0o700)

        let key = try curl(cli, ["http://k/v1/keys/anthropic?scope=prod"])
        #expect(status(key) == 200)
        let served = try JSONSerialization.jsonObject(with: Data(body(key).utf8)) as! [String: String]
        #expect(served["value"] == prodKey)
        #expect(served["id"] == prodID)
        #expect(served["env"] == "ANTHROPIC_API_KEY")

        let python = """
        import http.client, socket, json, sys
        class C(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); self.sock.connect(sys.argv[1])
        c = C("keywarden"); c.request("GET", "/v1/env?scope=prod&format=json"); r = c.getresponse()
        print(r.status, json.dumps(json.loads(r.read())))
        """
        let py = try CommandRunner.run("/usr/bin/env", ["python3", "-c", python, socket], environment: cli.environment)
        #expect(py.out.hasPrefix("200 "))
        #expect(py.out.contains(prodKey))
        #expect(py.out.contains("https://app.example"))

        let metrics = try curl(cli, ["http://k/metrics"])
        #expect(body(metrics).contains("keywarden_requests_total{route=\"/v1/keys/{provider}\",status=\"200\"} 1"))
        #expect(!body(metrics).contains(prodKey))
        #expect(!body(metrics).contains(String(served["fingerprint"]!.prefix(16))))
        #expect(status(try curl(cli, ["http://k/v1/nope"])) == 404)
        #expect(agent.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: socket), "a clean shutdown removes the socket")
        let audit = try cli.ok(["audit", "--action", "agent.serve", "--json"])
        let events = try JSONSerialization.jsonObject(with: Data(audit.stdout)) as! [[String: Any]]
        #expect(events.count >= 3, "every value served is audited, and none is lost on shutdown")
        #expect(events.allSatisfy { ($0["actor"] as? String)?.hasPrefix("agent client") == true })
        cli.secrets.removeAll { $0 == prodKey }  // served on purpose over the socket
        try cli.expectNoSecretLeaked()
    }

    @Test("kill -9 right after serving: every connection's first serve of a key is in the audit trail, which verifies intact")
    func crashKeepsFirstServes() throws {
        let (cli, prodID, prodKey) = try vault()
        let agent = try RunningAgent(cli)
        // One program reads its key 40 times over one keep-alive connection
        // (the first serve committed before its answer, the repeats counted),
        // then once over a second connection, and kills the agent the moment
        // that answer arrives: well inside the 250 ms in which counted
        // repeats are committed.
        let python = """
        import os, signal, socket, sys
        def read(s):
            s.sendall(b"GET /v1/keys/anthropic?scope=prod HTTP/1.1\\r\\nHost: k\\r\\n\\r\\n")
            data = b""
            while b"\\r\\n\\r\\n" not in data: data += s.recv(65536)
            head, _, body = data.partition(b"\\r\\n\\r\\n")
            length = int([l.split(b":")[1] for l in head.split(b"\\r\\n") if l.lower().startswith(b"content-length")][0])
            while len(body) < length: body += s.recv(65536)
            assert head.startswith(b"HTTP/1.1 200"), head
        a = socket.socket(socket.AF_UNIX); a.connect(sys.argv[1])
        for _ in range(40): read(a)
        b = socket.socket(socket.AF_UNIX); b.connect(sys.argv[1])
        read(b)
        os.kill(int(sys.argv[2]), signal.SIGKILL)
        print("killed")
        """
        let py = try CommandRunner.run("/usr/bin/env", ["python3", "-c", python, agent.socket, String(agent.process.processIdentifier)], environment: cli.environment)
        #expect(py.out.contains("killed"), "\(py.err)")
        agent.process.waitUntilExit()
        #expect(agent.process.terminationReason == .uncaughtSignal && agent.process.terminationStatus == SIGKILL)

        let audit = try cli.ok(["audit", "--action", "agent.serve", "--key", prodID, "--json"])
        let events = try JSONSerialization.jsonObject(with: Data(audit.stdout)) as! [[String: Any]]
        // A row may stand for several serves: "served: … (×N, first to last)".
        let serves = events.reduce(0) { total, event in
            let detail = event["detail"] as? String ?? ""
            guard let times = detail.range(of: "(×") else { return total + 1 }
            return total + (Int(detail[times.upperBound...].prefix { $0.isNumber }) ?? 1)
        }
        #expect(serves >= 2, "both connections' first serves were durable before their answers: \(events)")
        #expect(serves <= 41)
        #expect(try cli.ok(["audit", "verify"]).out.contains("intact"))
        cli.secrets.removeAll { $0 == prodKey }  // served on purpose over the socket
        try cli.expectNoSecretLeaked()
    }

    @Test("the CLI uses the agent: export, run, inject and key show --reveal need no credentials and print the same")
    func cliThroughAgent() throws {
        let (cli, prodID, prodKey) = try vault()
        let direct = try cli.ok(["export", "--scope", "prod", "--format", "shell"]).stdout
        let agent = try RunningAgent(cli)
        let noCredentials: [String: String?] = ["KEYWARDEN_KEYFILE": nil]
        #expect(try cli.ok(["export", "--scope", "prod", "--format", "shell"], env: noCredentials).stdout == direct)
        let run = try cli.ok(["run", "--scope", "prod", "--", "sh", "-c", "printf %s \"$ANTHROPIC_API_KEY\""], env: noCredentials)
        #expect(run.out == prodKey)
        #expect(try cli.ok(["key", "show", prodID, "--reveal"], env: noCredentials).out == prodKey)
        let template = cli.directory.file("t.tpl")
        try Data("k={{ kw://prod/ANTHROPIC_API_KEY }}\n".utf8).write(to: URL(fileURLWithPath: template))
        #expect(try cli.ok(["inject", "--in", template], env: noCredentials).out == "k=\(prodKey)\n")
        // Every command goes through the agent, metadata and writes too.
        #expect(try cli.ok(["key", "list"], env: noCredentials).out.contains(prodID))
        try cli.ok(["scope", "add", "qa"], env: noCredentials)
        #expect(try cli.ok(["audit", "--action", "scope.add"], env: noCredentials).out.contains("keywarden scope add (via agent)"))
        agent.stop()
        #expect(try cli.run(["export", "--scope", "prod"], env: noCredentials).status == 3, "no agent, no credentials: locked")
        cli.secrets.removeAll()
    }

    @Test("another uid is refused without a token, served with one within its scope, refused after revoke; each denial audited",
          .enabled(if: getuid() == 0, "switching to uid 65534 with setpriv needs root"))
    func otherUsers() throws {
        let (cli, _, prodKey) = try vault()
        // The test's own folder is 0700; other users need a path they can traverse.
        let shared = TemporaryDirectory(prefix: "keywarden-shared")
        chmod(shared.path, 0o711)
        cli.environment["KEYWARDEN_SOCKET"] = shared.file("agent/agent.sock")
        let agent = try RunningAgent(cli, extra: ["--socket-group", "65534"])
        let refused = try curl(cli, ["http://k/v1/keys/anthropic?scope=prod"], asNobody: true)
        #expect(status(refused) == 403)
        #expect(body(refused).contains("sent no token"))
        let token = try cli.ok(["token", "create", "web", "--scope", "prod", "--provider", "anthropic", "--ttl", "1d"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("kwt_"))
        let auth = ["-H", "Authorization: Bearer \(token)"]
        let ok = try curl(cli, auth + ["http://k/v1/keys/anthropic?scope=prod"], asNobody: true)
        #expect(status(ok) == 200)
        #expect(body(ok).contains(prodKey))
        // Outside the token's grant: answered like something that does not exist.
        #expect(status(try curl(cli, auth + ["http://k/v1/keys/anthropic?scope=dev"], asNobody: true)) == 404)
        #expect(status(try curl(cli, auth + ["http://k/v1/keys/openai?scope=prod"], asNobody: true)) == 404)
        #expect(status(try curl(cli, ["-H", "Authorization: Bearer kwt_forged", "http://k/v1/keys/anthropic?scope=prod"], asNobody: true)) == 403)
        #expect(status(try curl(cli, auth + ["-X", "POST", "http://k/v1/lock"], asNobody: true)) == 403)
        try cli.ok(["token", "revoke", "web"])
        #expect(status(try curl(cli, auth + ["http://k/v1/keys/anthropic?scope=prod"], asNobody: true)) == 403)
        agent.stop()
        let denials = try JSONSerialization.jsonObject(with: Data(try cli.ok(["audit", "--action", "agent.deny", "--json"]).stdout)) as! [[String: Any]]
        #expect(denials.count >= 5)
        #expect(denials.allSatisfy { ($0["uid"] as? Int) == 65534 && ($0["pid"] as? Int ?? 0) > 0 })
        #expect(denials.contains { ($0["detail"] as? String)?.contains("token 'web' may not read scope dev") == true })
        let tokens = try cli.ok(["token", "list", "--json"]).out
        #expect(!tokens.contains(token), "only a hash is stored; the list never shows the token")
        let stored = ["", "-wal"].compactMap { FileManager.default.contents(atPath: cli.databasePath + $0) }.flatMap(Array.init)
        #expect(!stored.contains(bytes: Array(token.utf8)), "the token is not in the vault file")
        cli.secrets.removeAll { $0 == prodKey }
        try cli.expectNoSecretLeaked()
    }

    @Test("a reported 401 shows in audit --failed-auth with key, time and peer; with failover on, the standby takes over")
    func reportsAndFailover() throws {
        let (cli, prodID, prodKey) = try vault()
        let spare = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("s"))
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--failover", "on"])
        let agent = try RunningAgent(cli)
        let answer = try curl(cli, ["-X", "POST", "-H", "content-type: application/json", "--data",
                                    "{\"value\": \"\(prodKey)\", \"status\": 401, \"detail\": \"invalid x-api-key \(prodKey)\"}", "http://k/v1/reports"])
        #expect(status(answer) == 200)
        #expect(body(answer).contains("\"replaced_by\":\"\(spare)\""))
        let now = try curl(cli, ["http://k/v1/keys/anthropic?scope=prod"])
        #expect(body(now).contains(spare), "programs get the standby at once")
        // From a shell, as a deployment holds the key.
        let report = try cli.run(["report", "--env", "OPENAI_API_KEY", "--status", "429"], env: ["OPENAI_API_KEY": FakeKeys.openai("q")])
        #expect(report.status == 0)
        agent.stop()
        let failed = try JSONSerialization.jsonObject(with: Data(try cli.ok(["audit", "--failed-auth", "--json"]).stdout)) as! [[String: Any]]
        #expect(failed.count == 1)
        #expect(failed[0]["key_id"] as? String == prodID)
        #expect(failed[0]["at"] != nil && (failed[0]["pid"] as? Int ?? 0) > 0)
        #expect((failed[0]["detail"] as? String)?.contains("[key]") == true, "an echoed key is redacted from the detail")
        let keys = try cli.json(try cli.ok(["key", "list", "--scope", "prod", "--provider", "anthropic", "--json"])) as! [[String: Any]]
        #expect(keys.first { $0["id"] as? String == prodID }?["state"] as? String == "failed")
        #expect(keys.first { $0["id"] as? String == spare }?["state"] as? String == "active")
        cli.secrets.removeAll()
    }

    @Test("lock wipes the key: later requests say locked; a stale socket is replaced, a live one not stolen")
    func lockAndSockets() throws {
        let (cli, _, _) = try vault()
        let agent = try RunningAgent(cli)
        let second = try cli.run(["serve"])
        #expect(second.status == 2)
        #expect(second.err.contains("already serving"))
        try cli.ok(["lock"])
        // The agent restarts itself locked (same pid, same socket): wait for the
        // new image (the old one may answer "locked" until execve), then until it answers.
        let pid = agent.process.processIdentifier
        let deadline = Date().addingTimeInterval(60)
        func runsLocked() -> Bool {
            FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")?.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "--locked" } ?? false
        }
        while Date() < deadline && !runsLocked() { usleep(20_000) }
        #expect(runsLocked(), "the agent re-executed itself as serve --locked")
        while Date() < deadline, status(try curl(cli, ["http://k/v1/health"])) != 200 { usleep(20_000) }
        #expect(body(try curl(cli, ["http://k/v1/health"])).contains("\"locked\":true"))
        #expect(status(try curl(cli, ["http://k/v1/keys/anthropic?scope=prod"])) == 423)
        // A crashed agent leaves its socket behind; the next one replaces it.
        kill(agent.process.processIdentifier, SIGKILL)
        agent.process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: agent.socket))
        let next = try RunningAgent(cli)
        #expect(status(try curl(cli, ["http://k/v1/keys/anthropic?scope=prod"])) == 200)
        next.stop()
        cli.secrets.removeAll()
    }

    @Test("robustness: malformed HTTP, huge headers and bodies, bad JSON, idle and killed clients, 100 at once — the agent keeps serving")
    func robustness() throws {
        let (cli, _, _) = try vault()
        let agent = try RunningAgent(cli)
        let script = """
        import socket, sys, json, threading, time
        path = sys.argv[1]
        def raw(data, read=True):
            s = socket.socket(socket.AF_UNIX); s.connect(path); s.sendall(data)
            out = s.recv(65536) if read else b""
            s.close(); return out
        results = {}
        results["garbage"] = raw(b"NOT HTTP AT ALL\\r\\n\\r\\n")[:12].decode(errors="replace")
        results["huge_header"] = raw(b"GET /v1/health HTTP/1.1\\r\\nHost: k\\r\\nX-Big: " + b"a" * 200000 + b"\\r\\n\\r\\n")[:12].decode(errors="replace")
        body = b"x" * 200000
        results["huge_body"] = raw(b"POST /v1/reports HTTP/1.1\\r\\nHost: k\\r\\nContent-Type: application/json\\r\\nContent-Length: " + str(len(body)).encode() + b"\\r\\n\\r\\n" + body)[:12].decode(errors="replace")
        results["bad_json"] = raw(b"POST /v1/reports HTTP/1.1\\r\\nHost: k\\r\\nContent-Type: application/json\\r\\nContent-Length: 5\\r\\n\\r\\n{oops")[:12].decode(errors="replace")
        idle = socket.socket(socket.AF_UNIX); idle.connect(path)
        raw(b"GET /v1/keys/anthropic?scope=prod HTTP/1.1\\r\\nHost: k\\r\\n", read=False)
        ok = []
        def client():
            s = socket.socket(socket.AF_UNIX); s.connect(path)
            s.sendall(b"GET /v1/keys/anthropic?scope=prod HTTP/1.1\\r\\nHost: k\\r\\nConnection: close\\r\\n\\r\\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                data += chunk
            ok.append(data.startswith(b"HTTP/1.1 200"))
        threads = [threading.Thread(target=client) for _ in range(100)]
        [t.start() for t in threads]; [t.join() for t in threads]
        results["concurrent_ok"] = sum(ok)
        idle.close()
        print(json.dumps(results))
        """
        let result = try CommandRunner.run("/usr/bin/env", ["python3", "-c", script, agent.socket], environment: cli.environment, timeout: 180)
        #expect(result.status == 0, "\(result.err)")
        let r = try JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String: Any]
        #expect((r["garbage"] as? String)?.hasPrefix("HTTP/1.1 4") == true, "\(r)")
        #expect((r["huge_header"] as? String)?.hasPrefix("HTTP/1.1 4") == true || (r["huge_header"] as? String) == "", "\(r)")
        #expect((r["huge_body"] as? String)?.hasPrefix("HTTP/1.1 413") == true, "\(r)")
        #expect((r["bad_json"] as? String)?.hasPrefix("HTTP/1.1 400") == true, "\(r)")
        #expect(r["concurrent_ok"] as? Int == 100)
        #expect(status(try curl(cli, ["http://k/v1/health"])) == 200, "still serving")
        #expect(agent.process.isRunning)
        cli.secrets.removeAll()
    }

    @Test("the agent's scheduler rotates a due pool on its own, and clients are served without a gap")
    func scheduler() async throws {
        let mock = try await MockProviderServer.start()
        let cli = CLIHarness()
        try cli.initVault()
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
        let old = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-valid-old-" + String(repeating: "o", count: 40))
        let standby = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-valid-new-" + String(repeating: "n", count: 40), extra: ["--label", "next"])
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--every", "1s", "--grace", "1h"])
        let agent = try RunningAgent(cli, extra: ["--rotation-interval", "1s"])
        var statuses: [Int] = []
        var served: Set<String> = []
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            let answer = try curl(cli, ["http://k/v1/keys/anthropic?scope=prod"])
            statuses.append(status(answer))
            if let object = try? JSONSerialization.jsonObject(with: Data(body(answer).utf8)) as? [String: String], let id = object["id"] { served.insert(id) }
            if served.contains(standby) { break }
            usleep(20_000)
        }
        #expect(served.contains(standby), "the scheduler rotated to the standby")
        #expect(served.contains(old))
        #expect(statuses.allSatisfy { $0 == 200 }, "no request failed during the rotation")
        agent.stop()
        let rotations = try cli.ok(["audit", "--action", "key.rotate"]).out
        #expect(rotations.contains(standby))
        cli.secrets.removeAll()
        await mock.shutdown()
    }

    @Test("the active-key cache survives the agent's own audit commits but not another process's change: a key activated by the CLI is served at once")
    func cacheSeesOtherProcesses() throws {
        let cli = CLIHarness()
        try cli.initVault()
        let first = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-first-" + String(repeating: "f", count: 60))
        let second = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-second-" + String(repeating: "s", count: 60), extra: ["--label", "next"])
        let agent = try RunningAgent(cli, extra: ["--rotation-interval", "off"])
        func servedID() throws -> String? {
            let answer = try curl(cli, ["http://k/v1/keys/anthropic?scope=prod"])
            return (try? JSONSerialization.jsonObject(with: Data(body(answer).utf8)) as? [String: String])?["id"]
        }
        // Warm the cache; each read commits its audit event first.
        for _ in 0..<5 { #expect(try servedID() == first) }
        // Another process (the CLI, straight to the vault file) changes the active key.
        try cli.ok(["key", "activate", second], env: ["KEYWARDEN_NO_AGENT": "1"])
        #expect(try servedID() == second, "the agent served the key the vault file now names as active")
        for _ in 0..<3 { #expect(try servedID() == second) }
        agent.stop()
        cli.secrets.removeAll()
    }

    @Test("the agent paces its audit anchor but never leaves it behind: shortly after the last read, and at shutdown, it names the newest event")
    func pacedAnchor() throws {
        let cli = CLIHarness()
        try cli.initVault()
        _ = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-paced-" + String(repeating: "p", count: 60))
        let agent = try RunningAgent(cli, extra: ["--rotation-interval", "off"])
        for _ in 0..<20 { #expect(status(try curl(cli, ["http://k/v1/keys/anthropic?scope=prod"])) == 200) }
        func anchoredSeq() throws -> Int? {
            let folder = cli.environment["HOME"]! + "/.local/state/keywarden"
            guard let name = try FileManager.default.contentsOfDirectory(atPath: folder).first(where: { $0.hasSuffix(".anchor") }),
                  let text = try? String(contentsOfFile: folder + "/" + name, encoding: .utf8) else { return nil }
            return text.split(separator: "\n").first { $0.hasPrefix("seq ") }.flatMap { Int($0.dropFirst(4)) }
        }
        func headSeq() throws -> Int? {
            Int(try cli.sqlite("SELECT audit_head_seq FROM vault;").out.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // Within a second of the last commit the paced flush has anchored the head.
        var caughtUp = false
        for _ in 0..<100 where !caughtUp {
            usleep(100_000)
            caughtUp = try anchoredSeq() != nil && anchoredSeq() == headSeq()
        }
        #expect(caughtUp, "the anchor names the newest audit event once the agent is idle")
        #expect(agent.stop() == 0)
        #expect(try anchoredSeq() == headSeq(), "at shutdown (agent.stop event included) the anchor is current")
        #expect(try cli.ok(["audit", "verify"]).status == 0)
        cli.secrets.removeAll()
    }

    @Test("`lock` returns only once the agent has restarted without the vault: right after it, the process is the locked image")
    func lockWaitsForRestart() throws {
        let cli = CLIHarness()
        try cli.initVault()
        _ = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-lockwait-" + String(repeating: "l", count: 60))
        let agent = try RunningAgent(cli, extra: ["--rotation-interval", "off"])
        #expect(status(try curl(cli, ["http://k/v1/keys/anthropic?scope=prod"])) == 200)
        let lock = try cli.ok(["lock"], env: ["KEYWARDEN_KEYFILE": nil])
        #expect(lock.out.contains("is locked"))
        // No waiting here: the command already did.
        let cmdline = (try? String(contentsOfFile: "/proc/\(agent.process.processIdentifier)/cmdline", encoding: .utf8)) ?? ""
        #expect(cmdline.contains("--locked"), "the agent's process image is the locked one")
        #expect(status(try curl(cli, ["http://k/v1/keys/anthropic?scope=prod"])) == 423)
        agent.stop()
        cli.secrets.removeAll()
    }

    @Test("validate through the agent: no credentials, same results, recorded in the audit trail")
    func validateThroughAgent() async throws {
        let mock = try await MockProviderServer.start()
        let cli = CLIHarness()
        try cli.initVault()
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
        let good = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-valid-" + String(repeating: "g", count: 40))
        let poor = try cli.addKey("anthropic", scope: "dev", value: "sk-ant-api03-nocredit-" + String(repeating: "p", count: 40))
        let agent = try RunningAgent(cli)
        let result = try cli.run(["validate", "--json"], env: ["KEYWARDEN_KEYFILE": nil])
        #expect(result.status == 5)
        let checks = try JSONSerialization.jsonObject(with: Data(result.stdout)) as! [[String: Any]]
        let outcomes = Dictionary(uniqueKeysWithValues: checks.map { ($0["id"] as! String, $0["outcome"] as! String) })
        #expect(outcomes == [good: "valid", poor: "no_credit"])
        agent.stop()
        // Recorded by the agent, naming the client's command (and its uid and pid).
        #expect(try cli.ok(["audit", "--action", "key.validate"]).out.contains("keywarden validate (via agent)"))
        await mock.shutdown()
    }
}

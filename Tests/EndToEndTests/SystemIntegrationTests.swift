#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

/// How Keywarden fits into the system: shell completions, the systemd units
/// and the agent's readiness notification, the per-user installer, and the
/// status screen.
@Suite("End to end: completions, systemd, install, status", .serialized)
struct SystemIntegrationTests {
    // MARK: completions

    @Test("completion bash|zsh|fish prints each shell's script; another shell is refused by name and prints nothing")
    func completionScripts() throws {
        let cli = CLIHarness()
        for (shell, marker) in [("bash", "complete -o filenames -F _keywarden keywarden"), ("zsh", "#compdef keywarden"), ("fish", "complete -c 'keywarden'")] {
            let script = try cli.ok(["completion", shell])
            #expect(script.out.contains(marker), "\(shell): \(script.out.prefix(200))")
            #expect(script.out.contains("---completion"), "\(shell) asks keywarden for scopes and key ids")
        }
        let refused = try cli.run(["completion", "powershell"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("'powershell'") && refused.stdout.isEmpty)
    }

    @Test("a Tab completes scopes, providers and key ids from the vault (keyfile or agent), never a value; with only a passphrase it completes nothing and asks nothing")
    func completionCandidatesComeFromTheVault() throws {
        let cli = CLIHarness()
        try cli.initVault()
        try cli.ok(["scope", "add", "team-a"])
        let key = try cli.addKey("anthropic", scope: "team-a", value: FakeKeys.anthropic("c"))
        // What the generated scripts run at a Tab: ---completion, the command,
        // --, the argument, then the words and cursor.
        func complete(_ command: [String], _ argument: String, _ word: String, env: [String: String?] = [:]) throws -> [String] {
            let words = ["keywarden"] + command + (argument.hasPrefix("--") ? [argument] : []) + [word]
            let result = try cli.run(["---completion"] + command + ["--", argument, String(words.count - 1), String(word.count)] + words, env: env)
            #expect(result.status == 0, "\(result.err)")
            #expect(result.stderr.isEmpty, "nothing printed into the user's command line: \(result.err)")
            return result.out.split(separator: "\n").map(String.init)
        }
        #expect(try complete(["export"], "--scope", "te") == ["team-a"])
        #expect(try complete(["key", "list"], "--scope", "") == ["dev", "prod", "staging", "team-a"])
        #expect(try complete(["key", "show"], "positional@0", "") == [key])
        let providers = try complete(["key", "add"], "positional@0", "an")
        #expect(providers == ["anthropic"])

        // Through the agent, without the keyfile.
        try cli.startAgent()
        #expect(try complete(["key", "rm"], "positional@0", "k_") == [key])
        // A stopped agent (SIGSTOP) never answers: a Tab gives up after a second instead of freezing the shell.
        kill(cli.agentProcessID, SIGSTOP)
        let frozen = Date()
        #expect(try complete(["key", "rm"], "positional@0", "k_").isEmpty)
        #expect(Date().timeIntervalSince(frozen) < 5)
        kill(cli.agentProcessID, SIGCONT)
        cli.agent?.stop()

        // Only a passphrase (its Argon2id would cost a second at every Tab): nothing, at once.
        let started = Date()
        let none = try complete(["export"], "--scope", "", env: ["KEYWARDEN_KEYFILE": nil, "KEYWARDEN_PASSPHRASE": "whatever-passphrase"])
        #expect(none.isEmpty)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try complete(["key", "add"], "positional@0", "deeps", env: ["KEYWARDEN_KEYFILE": nil]) == ["deepseek"], "built-in providers need no vault")
        try cli.expectNoSecretLeaked()
    }

    // MARK: systemd

    /// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
    final class NotifySocket {
        let path: String
        let fd: Int32

        init(in directory: TemporaryDirectory) throws {
            path = directory.file("notify.sock")
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
            var timeout = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        /// The next datagram, or nil after 20 s.
        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
        }

        deinit { close(fd) }
    }

    @Test("under systemd (NOTIFY_SOCKET) the agent says READY=1 with its pid once it serves, again (same pid) when a lock restarts it locked, and STOPPING=1 on SIGTERM")
    func agentNotifiesSystemd() throws {
        let cli = CLIHarness()
        try cli.initVault()
        let notify = try NotifySocket(in: cli.directory)
        cli.environment["NOTIFY_SOCKET"] = notify.path
        try cli.startAgent()
        let pid = cli.agentProcessID
        let ready = try #require(notify.receive())
        #expect(ready.split(separator: "\n").contains("READY=1"), "\(ready)")
        #expect(ready.contains("MAINPID=\(pid)"))
        #expect(ready.contains("STATUS=serving at \(cli.environment["KEYWARDEN_SOCKET"]!)"))

        try cli.ok(["lock"])
        let locked = try #require(notify.receive())
        #expect(locked.contains("READY=1") && locked.contains("MAINPID=\(pid)") && locked.contains("STATUS=locked"), "\(locked)")
        // A locked agent holds no key: status says so first, then needs the vault's own credentials.
        let withoutCredentials = try cli.run(["status"])
        #expect(withoutCredentials.status == 3 && withoutCredentials.out.hasPrefix("agent     locked (pid \(pid))"), "\(withoutCredentials.out)\(withoutCredentials.err)")
        #expect(try cli.ok(["status"], env: ["KEYWARDEN_KEYFILE": cli.keyfile]).out.contains("agent     locked (pid \(pid))"))

        cli.agent?.stop()
        #expect(notify.receive() == "STOPPING=1")
    }

    @Test("the shipped user units pass systemd-analyze verify once installed")
    func unitsVerify() throws {
        let directory = TemporaryDirectory(prefix: "keywarden-units")
        let home = directory.file("home")
        let runtime = directory.file("runtime")
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let environment = ["HOME": home, "XDG_RUNTIME_DIR": runtime, "PATH": "/usr/bin:/bin"]
        let install = try CommandRunner.run(Self.repository + "/scripts/install.sh", ["--bin", CommandRunner.keywardenBinary], environment: environment, timeout: 120)
        #expect(install.status == 0, "\(install.err)")
        let units = ["keywarden.service", "keywarden-rotate.service", "keywarden-rotate.timer"].map { home + "/.config/systemd/user/" + $0 }
        let verify = try CommandRunner.run("/usr/bin/systemd-analyze", ["verify", "--user"] + units, environment: environment, timeout: 60)
        #expect(verify.status == 0, "\(verify.out)\(verify.err)")
        let agentUnit = try String(contentsOfFile: units[0], encoding: .utf8)
        #expect(agentUnit.contains("Type=notify"))
        #expect(agentUnit.contains("ExecStart=\(home)/.local/bin/keywarden serve") || agentUnit.contains("ExecStart=%h/.local/bin/keywarden serve"))
    }

    // MARK: install

    static var repository: String {
        // Tests/EndToEndTests/ThisFile.swift → the repository.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    @Test("scripts/install.sh puts the binary, completions, units and docs under the user's home; --uninstall removes exactly those and keeps the vault")
    func installAndUninstall() throws {
        let directory = TemporaryDirectory(prefix: "keywarden-install")
        let home = directory.file("home")
        var environment = ["HOME": home, "PATH": "/usr/bin:/bin", "KEYWARDEN_HOME": home + "/.local/share/keywarden"]
        let installed = try CommandRunner.run(Self.repository + "/scripts/install.sh", ["--bin", CommandRunner.keywardenBinary], environment: environment, timeout: 120)
        #expect(installed.status == 0, "\(installed.err)")
        let files = [
            ".local/bin/keywarden", ".local/share/bash-completion/completions/keywarden", ".local/share/zsh/site-functions/_keywarden",
            ".config/fish/completions/keywarden.fish", ".config/systemd/user/keywarden.service",
            ".config/systemd/user/keywarden-rotate.service", ".config/systemd/user/keywarden-rotate.timer", ".local/share/doc/keywarden/README.md",
            ".local/libexec/keywarden/keywarden-cli",
        ].map { home + "/" + $0 }
        for file in files { #expect(FileManager.default.fileExists(atPath: file), "\(file)") }
        let mode = (try FileManager.default.attributesOfItem(atPath: files[0])[.posixPermissions] as! NSNumber).intValue
        #expect(mode == 0o755)
        #expect(installed.out.contains("is not on your PATH"))

        // The installed binary works and makes a vault, which uninstalling keeps.
        environment["KEYWARDEN_KEYFILE"] = directory.file("vault.key")
        #expect(try CommandRunner.run(files[0], ["init", "--keyfile", directory.file("vault.key")], environment: environment).status == 0)
        let removed = try CommandRunner.run(Self.repository + "/scripts/install.sh", ["--uninstall"], environment: environment, timeout: 60)
        #expect(removed.status == 0, "\(removed.err)")
        for file in files { #expect(!FileManager.default.fileExists(atPath: file), "\(file) removed") }
        #expect(FileManager.default.fileExists(atPath: home + "/.local/share/keywarden/vault.db"), "the vault is kept")
        #expect(try CommandRunner.run(Self.repository + "/scripts/install.sh", ["--uninstall"], environment: environment).status == 1, "nothing left to remove")
        let bad = try CommandRunner.run(Self.repository + "/scripts/install.sh", ["--bin", directory.file("nope")], environment: environment)
        #expect(bad.status == 2 && bad.err.contains("nope"))
        // A launcher without its full command line beside it is refused: it could answer only run and --version.
        let alone = directory.file("alone")
        try FileManager.default.createDirectory(atPath: alone, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CommandRunner.keywardenBinary, toPath: alone + "/keywarden")
        let lonely = try CommandRunner.run(Self.repository + "/scripts/install.sh", ["--bin", alone + "/keywarden"], environment: environment)
        #expect(lonely.status == 2 && lonely.err.contains("keywarden-cli"), "\(lonely.err)")
        #expect(!FileManager.default.fileExists(atPath: files[0]))

        // A folder a unit's ExecStart= would split is refused before anything is written.
        var spaced = environment
        spaced["PREFIX"] = home + "/my apps"
        let refused = try CommandRunner.run(Self.repository + "/scripts/install.sh", ["--bin", CommandRunner.keywardenBinary], environment: spaced)
        #expect(refused.status == 2 && refused.err.contains("my apps"), "\(refused.err)")
        #expect(!FileManager.default.fileExists(atPath: home + "/my apps"))

        // A relative --bin is the caller's, and a manifest edited to name another file removes only ours.
        let built = URL(fileURLWithPath: CommandRunner.keywardenBinary)
        let relative = try CommandRunner.run(Self.repository + "/scripts/install.sh", ["--bin", "./" + built.lastPathComponent], environment: environment,
                                             currentDirectory: built.deletingLastPathComponent().path, timeout: 120)
        #expect(relative.status == 0, "\(relative.err)")
        let precious = directory.file("precious.txt")
        try "keep me".write(toFile: precious, atomically: false, encoding: .utf8)
        let manifest = home + "/.local/share/doc/keywarden/installed-files"
        try (try String(contentsOfFile: manifest, encoding: .utf8) + precious + "\n").write(toFile: manifest, atomically: false, encoding: .utf8)
        let second = try CommandRunner.run(Self.repository + "/scripts/install.sh", ["--uninstall"], environment: environment, timeout: 60)
        #expect(second.status == 0 && second.err.contains("not removing '\(precious)'"), "\(second.err)")
        #expect(FileManager.default.fileExists(atPath: precious))
        #expect(!FileManager.default.fileExists(atPath: files[0]))
    }

    // MARK: status

    @Test("status is the operator's one screen: the agent (not running, running), keys failing now, the next rotations due; --json keeps the vault's fields at the top")
    func statusScreen() throws {
        let cli = CLIHarness()
        try cli.initVault()
        let active = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("s"))
        let failing = try cli.addKey("openai", scope: "prod", value: FakeKeys.openai("f"))
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--every", "30d"])
        // A client reports the OpenAI key refused (401): it fails.
        try cli.ok(["report", "--key", failing, "--status", "401"])

        let screen = try cli.ok(["status"]).out
        #expect(screen.contains("agent     not running"))
        #expect(screen.contains("Keys failing now (1):"))
        #expect(screen.contains("  \(failing)  openai/prod"))
        #expect(screen.contains("Next rotations:\n  anthropic/prod  \(active)  due "))

        let document = try cli.json(try cli.ok(["status", "--json"])) as! [String: Any]
        #expect(document["vault_id"] is String && document["keys"] as? Int == 2, "the vault's fields stay at the top level")
        #expect((document["agent"] as? [String: Any])?["state"] as? String == "not running")
        let attention = try #require(document["attention"] as? [String: Any])
        #expect(((attention["failing_keys"] as? [[String: Any]])?.map { $0["id"] as? String }) == [failing])
        #expect(((attention["next_rotations"] as? [[String: Any]])?.first?["key"] as? String) == active)

        try cli.startAgent()
        let pid = cli.agentProcessID
        #expect(try cli.ok(["status"]).out.contains("agent     running (pid \(pid)) at \(cli.environment["KEYWARDEN_SOCKET"]!)"))
        try cli.expectNoSecretLeaked()
    }

    // MARK: progress

    /// Runs `keywarden ARGS` on a pseudo-terminal (util-linux `script`), as a
    /// person at a terminal would; returns everything the terminal showed.
    func onTerminal(_ cli: CLIHarness, _ arguments: [String]) throws -> String {
        let command = ([CommandRunner.keywardenBinary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let result = try CommandRunner.run("/usr/bin/script", ["-qfec", command, "/dev/null"], environment: cli.environment, timeout: 120)
        #expect(result.status == 0, "\(result.out)")
        return result.out
    }

    @Test("on a terminal, validate --all, import of a large file and rotate --due draw one progress line and clear it; through a pipe there is none")
    func progressLines() async throws {
        let mock = try await MockProviderServer.start()
        let cli = CLIHarness()
        try cli.initVault()
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
        for i in 0..<10 { _ = try cli.addKey("anthropic", scope: "dev", value: "sk-ant-api03-valid-\(i)-" + String(repeating: "v", count: 40)) }
        let erase = "\r\u{1B}[K"
        let validated = try onTerminal(cli, ["validate", "--all"])
        #expect(validated.contains(erase + "checking keys: 10/10"), "\(validated.prefix(300))")
        #expect(validated.contains("10/10" + erase), "the line is cleared before the table")

        // 300 entries: config values, imported in one transaction.
        let file = cli.directory.file("big.env")
        try (0..<300).map { "SETTING_\($0)=value-\($0)" }.joined(separator: "\n").write(toFile: file, atomically: false, encoding: .utf8)
        let imported = try onTerminal(cli, ["import", file, "--scope", "staging"])
        #expect(imported.contains(erase + "importing \(file): 300/300" + erase), "\(imported.suffix(300))")
        #expect(imported.contains("Imported 300 change(s) into staging."))

        let script = cli.directory.file("new-key.sh")
        try "#!/bin/sh\necho sk-ant-api03-valid-new-\(String(repeating: "n", count: 40))\n".write(toFile: script, atomically: false, encoding: .utf8)
        chmod(script, 0o700)
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "dev", "--every", "1s", "--command", script])
        sleep(2)
        let rotated = try onTerminal(cli, ["rotate", "--due"])
        #expect(rotated.contains(erase + "rotating: 1/1" + erase), "\(rotated)")
        #expect(rotated.contains("rotated"))

        // Not a terminal: no carriage return, no escape sequence.
        let piped = try cli.ok(["validate", "--all"])
        #expect(!piped.err.contains("\r") && !piped.err.contains("\u{1B}"))
        await mock.shutdown()
    }
}

import Foundation
import KeywardenTestSupport
import Testing

/// What a new user trips over when following the README and the `--help`
/// pages (issue 16, items 7–13): each test failed before its fix.
@Suite("End to end: a new user's first steps", .serialized)
struct FirstStepsTests {
    @Test("init --keyfile into a folder that does not exist yet creates it, and its missing parents, 0700")
    func keyfileFolderIsCreated() throws {
        let cli = CLIHarness()
        let keyfile = cli.directory.file("fresh-home/.config/keywarden/vault.key")
        let created = try cli.ok(["init", "--keyfile", keyfile], env: ["KEYWARDEN_KEYFILE": keyfile])
        #expect(created.out.contains("keyslot 1: keyfile (\(keyfile))"))
        for folder in ["fresh-home", "fresh-home/.config", "fresh-home/.config/keywarden"] {
            #expect(SecureMode.of(cli.directory.file(folder)) == 0o700, "\(folder) is not 0700")
        }
        #expect(SecureMode.of(keyfile) == 0o600)
        try cli.ok(["key", "list"], env: ["KEYWARDEN_KEYFILE": keyfile])
    }

    @Test("keyfile slot in an existing shared folder: the folder's mode is left alone")
    func existingFolderUntouched() throws {
        let cli = CLIHarness()
        let shared = cli.directory.file("shared")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try cli.ok(["init", "--keyfile", shared + "/vault.key"], env: ["KEYWARDEN_KEYFILE": shared + "/vault.key"])
        #expect(SecureMode.of(shared) == 0o755)
    }

    @Test("keyslot add prints the id that keyslot list shows", arguments: CLIMode.allCases)
    func keyslotAddPrintsRealID(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        for n in 2...3 {
            let added = try cli.ok(["keyslot", "add", "keyfile", cli.directory.file("slot\(n).key")])
            #expect(added.out.contains("Added keyslot \(n) "), "got: \(added.out)")
        }
        let slots = try cli.json(try cli.ok(["keyslot", "list", "--json"])) as! [[String: Any]]
        #expect(slots.compactMap { ($0["id"] as? NSNumber)?.intValue }.sorted() == [1, 2, 3])
        let audit = try cli.ok(["audit", "--action", "keyslot.add"])
        #expect(audit.out.contains("slot 3"))
    }

    @Test("init with custom scopes suggests a scope the vault has")
    func initHintUsesFirstScope() throws {
        let cli = CLIHarness()
        let created = try cli.ok(["init", "--keyfile", cli.keyfile, "--scope", "ci", "--scope", "live"])
        #expect(created.out.contains("keywarden key add anthropic --scope ci "))
        #expect(!created.out.contains("--scope dev"))
    }

    @Test("inject --out says what it wrote, on stderr, like export --output", arguments: CLIMode.allCases)
    func injectSaysWhatItWrote(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        try cli.ok(["config", "set", "MODEL", "claude", "--scope", "dev"])
        let template = cli.directory.file("app.tpl"), output = cli.directory.file("app.conf")
        try "model: {{ kw://dev/MODEL }}\n".write(toFile: template, atomically: false, encoding: .utf8)
        let injected = try cli.ok(["inject", "--in", template, "--out", output])
        #expect(injected.out.isEmpty)
        #expect(injected.err.contains("wrote \(output) from \(template)"))
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "model: claude\n")
    }

    @Test("audit --action accepts names, families and the last part (unlock → vault.unlock); a typo is refused with the list")
    func auditActionFilter() throws {
        let cli = CLIHarness()
        try cli.initVault()
        _ = try cli.run(["key", "list"], env: ["KEYWARDEN_KEYFILE": cli.directory.file("missing.key")])
        try cli.ok(["scope", "add", "team"])
        func actions(_ filter: String) throws -> [String] {
            let events = try cli.json(try cli.ok(["audit", "--action", filter, "--json"])) as! [[String: Any]]
            return events.map { $0["action"] as! String }
        }
        #expect(try actions("unlock") == ["vault.unlock"])
        #expect(try actions("vault.unlock") == ["vault.unlock"])
        #expect(try Set(actions("vault")) == ["vault.init", "vault.unlock"])
        #expect(try actions("add") == ["scope.add"])
        let typo = try cli.run(["audit", "--action", "unlok"])
        #expect(typo.status == 2)
        #expect(typo.err.contains("vault.unlock"))
        let help = try cli.ok(["audit", "--help"], env: ["COLUMNS": "80"])
        for name in ["vault.unlock", "key.add", "agent.serve", "rotate.start"] { #expect(help.out.contains(name)) }
    }

    @Test("every failed unlock says \"cannot unlock the vault:\" first; its audit detail is the bare reason")
    func unlockFailuresConsistent() throws {
        let cli = CLIHarness()
        try cli.initVault()
        let other = cli.directory.file("other.key")
        try cli.ok(["keyslot", "add", "keyfile", other])
        try cli.ok(["keyslot", "remove", "2"])
        let attempts: [[String: String?]] = [
            ["KEYWARDEN_KEYFILE": cli.directory.file("missing.key")],  // the keyfile is missing
            ["KEYWARDEN_KEYFILE": other],  // a keyfile of no slot
            ["KEYWARDEN_KEYFILE": nil, "KEYWARDEN_PASSPHRASE": "guess"],  // no passphrase slot
            ["KEYWARDEN_KEYFILE": nil],  // nothing given, no terminal
        ]
        for env in attempts {
            let failed = try cli.run(["key", "list"], env: env)
            #expect(failed.status == 3)
            #expect(failed.err.hasPrefix("keywarden: cannot unlock the vault: "), "got: \(failed.err)")
        }
        let events = try cli.json(try cli.ok(["audit", "--action", "vault.unlock", "--json"])) as! [[String: Any]]
        #expect(events.count == 3)
        for event in events {
            let detail = event["detail"] as? String ?? ""
            #expect(!detail.isEmpty && !detail.contains("cannot unlock"), "detail: \(detail)")
        }
    }

    @Test("after lock, `keywarden serve` replaces the locked agent and serves again; an unlocked agent is never replaced")
    func serveReplacesLockedAgent() throws {
        let cli = CLIHarness()
        try cli.initVault()
        _ = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("p"))
        let first = try RunningAgent(cli)
        let refused = try cli.run(["serve"])
        #expect(refused.status == 2)
        #expect(refused.err.contains("already serving"))

        let locked = try cli.ok(["lock"])
        #expect(locked.out.contains("keywarden serve"))
        // The agent restarts itself locked (a new process image, same pid): wait for it.
        var status = 0
        for _ in 0..<200 where status != 423 {
            status = (try? keyStatus(cli)) ?? 0
            if status != 423 { usleep(25_000) }
        }
        #expect(status == 423)

        // The advice, followed as written.
        let second = Process()
        second.executableURL = URL(fileURLWithPath: CommandRunner.keywardenBinary)
        second.arguments = ["serve"]
        second.environment = cli.environment
        let log = Pipe()
        second.standardError = log
        second.standardOutput = FileHandle.nullDevice
        try second.run()
        defer { if second.isRunning { second.terminate(); second.waitUntilExit() } }
        var served = false
        for _ in 0..<400 where !served {
            served = (try? keyStatus(cli)) == 200
            if !served { usleep(25_000) }
        }
        #expect(served, "the new agent serves keys")
        #expect(second.isRunning, "the new agent is running")
        for _ in 0..<200 where first.process.isRunning { usleep(25_000) }
        #expect(!first.process.isRunning, "the locked agent was stopped")
        #expect(first.process.terminationStatus == 0)
        cli.secrets.removeAll()
    }

    @Test("--help at 80 columns: every example line of every command is kept whole, never re-wrapped")
    func helpExamplesAreNotWrapped() throws {
        let cli = CLIHarness()
        var pending: [[String]] = [[]]
        var checked = 0
        while let command = pending.popLast() {
            let narrow = try cli.ok(command + ["--help"], env: ["COLUMNS": "80"]).out
            let wide = try cli.ok(command + ["--help"], env: ["COLUMNS": "400"]).out
            let narrowLines = Set(narrow.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
            // The discussion's preformatted lines: indented, before USAGE.
            let overview = wide.components(separatedBy: "\nUSAGE:").first ?? ""
            for line in overview.split(separator: "\n").map(String.init) where line.hasPrefix("  ") {
                #expect(narrowLines.contains(line), "`keywarden \(command.joined(separator: " ")) --help` wraps at 80 columns: \(line)")
                #expect(line.count < 80, "too long for 80 columns: \(line)")
                checked += 1
            }
            pending += subcommands(in: wide).map { command + [$0] }
        }
        #expect(checked > 60, "found the examples of every command")
    }

    /// The names listed under SUBCOMMANDS: in a help page.
    func subcommands(in help: String) -> [String] {
        guard let section = help.components(separatedBy: "\nSUBCOMMANDS:\n").dropFirst().first else { return [] }
        var names: [String] = []
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { break }
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { continue }
            // "list, ls": the name, then its aliases.
            if let name = line.split(separator: " ").first.map({ String($0).trimmingCharacters(in: [","]) }), name != "help" { names.append(name) }
        }
        return names
    }

    func keyStatus(_ cli: CLIHarness) throws -> Int {
        let answer = try CommandRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", cli.environment["KEYWARDEN_SOCKET"]!,
                                                             "http://k/v1/keys/anthropic?scope=prod"], environment: cli.environment, timeout: 5)
        return Int(answer.out) ?? 0
    }
}

/// File modes, for tests.
enum SecureMode {
    static func of(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
    }
}

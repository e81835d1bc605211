import Foundation
import KeywardenLaunch
import KeywardenTestSupport
import Testing

/// `keywarden` is a small launcher: it answers `--version` and the everyday
/// `run` through the agent itself and hands every other command line to
/// `keywarden-cli` (exec, same arguments). These tests hold the two to the
/// same behaviour; every other end-to-end suite runs through the launcher too.
@Suite("End to end: the keywarden launcher and keywarden-cli behave as one program", .serialized)
struct LauncherTests {
    static var fullCommandLine: String {
        URL(fileURLWithPath: CommandRunner.keywardenBinary).deletingLastPathComponent().appendingPathComponent("keywarden-cli").path
    }

    /// A vault with scope prod (a key, a secret config entry and a plain one) and an agent serving it.
    func agentVault() throws -> CLIHarness {
        let cli = CLIHarness(.agent)
        try cli.initVault()
        _ = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-" + String(repeating: "Lk9", count: 31) + "QxAA")
        try cli.ok(["config", "set", "DB_PASSWORD", "--secret", "--scope", "prod"], stdin: "pa ss\"wörd\\n\n")
        try cli.ok(["config", "set", "REGION", "--scope", "prod"], stdin: "eu-west-1\n")
        return cli
    }

    func fullRun(_ cli: CLIHarness, _ arguments: [String], env: [String: String?] = [:]) throws -> CommandResult {
        var environment = cli.environment
        for (name, value) in env { environment[name] = value }
        return try CommandRunner.run(Self.fullCommandLine, arguments, environment: environment)
    }

    @Test("--version: the launcher prints what keywarden-cli prints")
    func version() throws {
        let launcher = try CommandRunner.run(CommandRunner.keywardenBinary, ["--version"], environment: ["PATH": "/usr/bin:/bin"])
        let full = try CommandRunner.run(Self.fullCommandLine, ["--version"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(launcher.status == 0 && launcher.out == full.out && launcher.out == KeywardenVersion.current + "\n")
    }

    @Test("run through the agent: the launcher gives the command the same environment as keywarden-cli, and the same audit event")
    func sameEnvironment() throws {
        let cli = try agentVault()
        func runEvents() throws -> [[String: Any]] {
            let all = try JSONSerialization.jsonObject(with: Data(try cli.ok(["audit", "--json"]).stdout)) as? [[String: Any]] ?? []
            return all.filter { $0["action"] as? String == "run" }
        }
        for arguments in [["run", "--scope", "prod", "--", "/usr/bin/env"],
                          ["run", "--scope", "prod", "--only", "DB_PASSWORD, REGION", "--", "/usr/bin/env"],
                          ["run", "--scope", "prod", "--clean", "--", "/usr/bin/env"]] {
            let before = try runEvents().count
            let viaLauncher = try cli.ok(arguments, env: ["KEYWARDEN_TOKEN": "kwt_not_for_the_child", "SOME_CALLER_VARIABLE": "x"])
            let launcherEvents = Array(try runEvents().dropFirst(before))
            let viaFull = try fullRun(cli, arguments, env: ["KEYWARDEN_TOKEN": "kwt_not_for_the_child", "SOME_CALLER_VARIABLE": "x"])
            let fullEvents = Array(try runEvents().dropFirst(before + launcherEvents.count))
            #expect(viaFull.status == 0)
            let launcherLines = Set(viaLauncher.out.split(separator: "\n")), fullLines = Set(viaFull.out.split(separator: "\n"))
            #expect(launcherLines == fullLines, "\(arguments): \(launcherLines.symmetricDifference(fullLines))")
            #expect(launcherLines.contains("DB_PASSWORD=pa ss\"wörd\\n"))
            #expect(!viaLauncher.out.contains("KEYWARDEN_TOKEN"))
            // The same delivery events: who (the command), what, to which program.
            func summary(_ events: [[String: Any]]) -> [String] {
                events.map { "\($0["actor"] ?? "") \($0["detail"] ?? "") \($0["key_id"] ?? "") \($0["outcome"] ?? "")" }.sorted()
            }
            #expect(!launcherEvents.isEmpty && summary(launcherEvents) == summary(fullEvents), "\(launcherEvents) \(fullEvents)")
        }
        #expect(try cli.ok(["audit", "verify"]).out.contains("intact"))
    }

    @Test("errors of run through the agent: the launcher prints keywarden-cli's message and exits with its code")
    func sameErrors() throws {
        let cli = try agentVault()
        for arguments in [["run", "--scope", "nope", "--", "/bin/true"],
                          ["run", "--scope", "prod", "--only", "MISSING", "--", "/bin/true"],
                          ["run", "--scope", "prod", "--", "no-such-command-here"],
                          ["run", "--scope", "prod", "--", "/etc/hostname"],
                          ["run", "--scope", "prod", "--only", "1BAD", "--", "/bin/true"],
                          ["run", "--scope", "prod", "--bogus", "--", "/bin/true"]] {
            let viaLauncher = try cli.run(arguments)
            let viaFull = try fullRun(cli, arguments)
            #expect(viaLauncher.status == viaFull.status && viaLauncher.status != 0, "\(arguments)")
            #expect(viaLauncher.err == viaFull.err, "\(arguments)")
        }
    }

    @Test("the launcher hands over when keywarden-cli must answer: no agent, KEYWARDEN_NO_AGENT, a locked agent, other commands")
    func handsOver() throws {
        let cli = try agentVault()
        // A locked agent serves nothing: like keywarden-cli, run opens the vault itself with the keyfile.
        try cli.ok(["lock"])
        let locked = try cli.ok(["run", "--scope", "prod", "--only", "REGION", "--", "/usr/bin/env"], env: ["KEYWARDEN_KEYFILE": cli.keyfile])
        #expect(locked.out.contains("REGION=eu-west-1"))
        let noAgent = try cli.ok(["run", "--scope", "prod", "--only", "REGION", "--", "/usr/bin/env"],
                                 env: ["KEYWARDEN_KEYFILE": cli.keyfile, "KEYWARDEN_NO_AGENT": "1"])
        #expect(noAgent.out.contains("REGION=eu-west-1"))
        #expect(try cli.ok(["config", "get", "REGION", "--scope", "prod"], env: ["KEYWARDEN_KEYFILE": cli.keyfile]).out.trimmingCharacters(in: .newlines) == "eu-west-1")
        // ArgumentParser's own answers come from keywarden-cli.
        let help = try cli.run(["run", "--help"])
        #expect(help.status == 0 && help.out.contains("--env-file"))
    }

    @Test("the core limit the caller had reaches run's command, whichever binary starts it")
    func coreLimit() throws {
        let cli = try agentVault()
        let keywarden = CommandRunner.keywardenBinary
        let script = "ulimit -S -c 2048 && exec \"$0\" run --scope prod --only REGION -- /bin/sh -c 'ulimit -S -c'"
        let fast = try CommandRunner.run("/bin/sh", ["-c", script, keywarden], environment: cli.environment)
        #expect(fast.status == 0 && fast.out == "2048\n", "\(fast.out)\(fast.err)")
        var direct = cli.environment
        direct["KEYWARDEN_NO_AGENT"] = "1"
        direct["KEYWARDEN_KEYFILE"] = cli.keyfile
        let handedOver = try CommandRunner.run("/bin/sh", ["-c", script, keywarden], environment: direct)
        #expect(handedOver.status == 0 && handedOver.out == "2048\n", "\(handedOver.out)\(handedOver.err)")
    }

    @Test("a launcher without keywarden-cli beside it says so and exits 1; run and --version still work")
    func withoutFullCommandLine() throws {
        let directory = TemporaryDirectory(prefix: "keywarden-launcher")
        let alone = directory.file("keywarden")
        try FileManager.default.copyItem(atPath: CommandRunner.keywardenBinary, toPath: alone)
        let result = try CommandRunner.run(alone, ["key", "list"], environment: ["PATH": "/usr/bin:/bin", "HOME": directory.path])
        #expect(result.status == 1 && result.err.contains("keywarden-cli") && result.err.contains("not installed"), "\(result.err)")
        #expect(try CommandRunner.run(alone, ["--version"], environment: ["PATH": "/usr/bin:/bin"]).out == KeywardenVersion.current + "\n")
    }
}

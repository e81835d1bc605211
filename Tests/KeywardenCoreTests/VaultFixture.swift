import Foundation
import GRDB
import Logging
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenTestSupport

/// A fresh vault in a temporary folder, unlocked with a keyfile.
final class VaultFixture: @unchecked Sendable {
    let directory = TemporaryDirectory()
    let location: VaultLocation
    let keyfile: String
    let vault: Vault

    static func context(_ name: String = "test", anchorDirectory: String? = nil) -> VaultContext {
        VaultContext(actor: AuditActor(uid: 1000, pid: 42, name: name), logger: Logger(label: "test"), anchorDirectory: anchorDirectory)
    }

    /// Where this fixture's audit anchor lives (never the real home).
    var anchorDirectory: String { directory.file("state") }

    init(passphrase: String? = nil) throws {
        location = VaultLocation(directory: directory.file("home"))
        keyfile = directory.file("vault.key")
        var slots: [NewKeyslot] = [.keyfile(path: keyfile)]
        if let passphrase { slots.append(.passphrase(SecureBytes(copying: Array(passphrase.utf8)), .interactive)) }
        vault = try Vault.create(at: location, slots: slots, scopes: ["dev", "staging", "prod"], context: Self.context(anchorDirectory: directory.file("state")))
    }

    /// Opens the vault again as a new process would.
    func reopen(_ credential: UnlockCredential? = nil) throws -> Vault {
        try Vault.unlock(VaultDatabase.open(at: location), with: credential ?? .keyfile(path: keyfile), context: Self.context(anchorDirectory: anchorDirectory))
    }

    /// A raw connection to the file, as `sqlite3` would have, for tampering.
    func raw() throws -> DatabaseQueue {
        try DatabaseQueue(path: location.databasePath)
    }

    /// Every byte of the vault's files (database, WAL), for leak checks.
    func fileBytes() -> [UInt8] {
        ["", "-wal", "-shm"].flatMap { suffix in
            (FileManager.default.contents(atPath: location.databasePath + suffix)).map(Array.init) ?? []
        }
    }
}

func secret(_ text: String) -> SecureBytes { SecureBytes(copying: Array(text.utf8)) }

/// Realistic-looking test keys (made up; no provider accepts them).
enum TestKeys {
    static let anthropic = "sk-ant-api03-" + String(repeating: "Ab3_", count: 23) + "xAA"
    static let anthropic2 = "sk-ant-api03-" + String(repeating: "Zy9-", count: 23) + "qAA"
    static let openai = "sk-proj-" + String(repeating: "q1W2e3R4", count: 6) + "T3BlbkFJ" + String(repeating: "z", count: 20)
    static let gemini = "AIzaSy" + String(repeating: "K", count: 33)
}

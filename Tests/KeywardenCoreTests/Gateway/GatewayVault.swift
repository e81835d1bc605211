import Foundation
import Logging
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenTestSupport

/// A vault for the gateway tests whose clock moves a second per reading, so
/// keys added one after the other have distinct, ordered creation times.
final class GatewayVault: @unchecked Sendable {
    let directory = TemporaryDirectory()
    let vault: Vault
    private let ticks = Ticks()

    init() throws {
        let ticks = self.ticks
        let context = VaultContext(actor: AuditActor(uid: 1000, pid: 42, name: "test"), clock: { ticks.next() }, logger: Logger(label: "test"),
                                   anchorDirectory: directory.file("state"))
        vault = try Vault.create(at: VaultLocation(directory: directory.file("home")), slots: [.keyfile(path: directory.file("vault.key"))],
                                 scopes: ["dev", "prod"], context: context)
    }

    /// Adds an Anthropic-shaped key whose value carries `words`; returns its id.
    @discardableResult
    func add(_ words: String, provider: String = "anthropic", scope: String = "prod", activate: Bool = false) throws -> String {
        try vault.addKey(provider: provider, scope: scope, label: words, env: nil, value: secret(Self.value(words)), activate: activate, force: true).key.id
    }

    static func value(_ words: String) -> String { "sk-ant-api03-\(words)-" + String(repeating: "x", count: 40) }

    func failover(_ on: Bool, scope: String = "prod") throws {
        _ = try vault.setRotationPolicy(provider: "anthropic", scope: scope, RotationPolicyChange(failover: on))
    }

    private final class Ticks: @unchecked Sendable {
        private let lock = NSLock()
        private var current = Timestamp(millisecondsSince1970: 1_800_000_000_000)
        func next() -> Timestamp {
            lock.lock()
            defer { lock.unlock() }
            current = current.adding(seconds: 1)
            return current
        }
    }
}

extension SecureBytes {
    var text: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

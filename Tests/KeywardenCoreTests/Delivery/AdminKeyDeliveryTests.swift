import Foundation
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenTestSupport

@Suite("Admin keys are never delivered unless asked, on every backend")
struct AdminKeyDeliveryTests {
    @Test("environment, active key and gateway pool leave the admin key out; --include-admin brings it into an export only", arguments: TestBackend.available)
    func leftOut(backend: TestBackend) throws {
        let f = try VaultFixture(backend: backend)
        _ = try f.vault.addScope("admin", parent: nil)
        let admin = "sk-admin-" + String(repeating: "A", count: 40)
        let added = try f.vault.addKey(provider: "openai", scope: "admin", label: nil, env: "OPENAI_ADMIN_KEY", value: secret(admin),
                                       activate: false, force: false, role: .admin)
        #expect(added.key.role == .admin && added.key.state == .active)
        #expect(try f.vault.resolveEnvironment(scope: "admin", decrypt: false).isEmpty)
        #expect(throws: KeywardenError.self) { try f.vault.resolveEnvironment(scope: "admin", only: ["OPENAI_ADMIN_KEY"]) }
        #expect(throws: KeywardenError.self) { try f.vault.resolveActiveKey(provider: "openai", scope: "admin") }
        #expect(throws: KeywardenError.self) { try f.vault.gatewayPool(provider: "openai", scope: "admin") }
        let asked = try f.vault.resolveEnvironment(scope: "admin", includeAdmin: true)
        #expect(asked.map(\.name) == ["OPENAI_ADMIN_KEY"] && asked[0].value?.copyBytes() == Array(admin.utf8))
        // Read back through the store: the role survives, under its row MAC.
        #expect(try f.vault.listKeys(KeyFilter(scope: "admin"))[0].role == .admin)
    }
}

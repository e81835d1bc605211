import Foundation
import Testing
@testable import KeywardenCore
import KeywardenCrypto

@Suite("Rotation through providers' APIs: reading answers without a key becoming a string")
struct ProviderAdminAPITests {
    @Test("the new key is taken out of the answer's bytes and blanked there; the ids still parse")
    func takesTheKeyOut() throws {
        var body = Array(#"{"object":"organization.project.service_account","id":"svc_acct_1","name":"keywarden-r_1","api_key":{"object":"organization.project.service_account.api_key","value":"sk-svcacct-SECRETvalue","name":"Secret Key","id":"key_1"}}"#.utf8)
        let value = try #require(ProviderAdminAPI.takeString(member: "value", from: &body))
        #expect(value.copyBytes() == Array("sk-svcacct-SECRETvalue".utf8))
        #expect(!String(decoding: body, as: UTF8.self).contains("SECRET"))
        #expect(JSONValue.parse(body)?.values(at: ["id"]) == ["svc_acct_1"])

        var openrouter = Array(#"{"data":{"hash":"abc","name":"k","label":"sk-or-v1-0f0...f0f"},"key":"sk-or-v1-0f0f"}"#.utf8)
        #expect(ProviderAdminAPI.takeString(member: "key", from: &openrouter)?.copyBytes() == Array("sk-or-v1-0f0f".utf8))
        #expect(JSONValue.parse(openrouter)?.values(at: ["data", "hash"]) == ["abc"])
    }

    @Test("a member name inside a string, an escaped value or a missing member gives nothing", arguments: [
        #"{"name":"\"value\": \"x\""}"#, #"{"value":"sk-\u0041"}"#, #"{"other":"sk-x"}"#, #"{"value":12}"#,
    ])
    func refusesWhatIsNotAPlainString(text: String) {
        var body = Array(text.utf8)
        #expect(ProviderAdminAPI.takeString(member: "value", from: &body) == nil)
    }

    @Test("an Anthropic hint matches the key with its two ends, and no other")
    func hints() {
        let key = SecureBytes(copying: Array(("sk-ant-api03-R2D" + String(repeating: "x", count: 80) + "igAA").utf8))
        #expect(ProviderAdminAPI.matches(hint: "sk-ant-api03-R2D...igAA", key))
        #expect(!ProviderAdminAPI.matches(hint: "sk-ant-api03-R2E...igAA", key))
        #expect(!ProviderAdminAPI.matches(hint: "sk-ant-api03-R2D...igAB", key))
        #expect(!ProviderAdminAPI.matches(hint: "sk-ant...", key), "too short to tell keys apart")
        #expect(!ProviderAdminAPI.matches(hint: "no dots here", key))
    }

    @Test("kw://SCOPE/NAME references", arguments: [
        ("kw://admin/OPENAI_ADMIN_KEY", "admin", "OPENAI_ADMIN_KEY"), ("kw://team/admin/KEY", "team/admin", "KEY"),
    ])
    func references(text: String, scope: String, name: String) throws {
        let reference = try AdminKeyReference(parsing: text)
        #expect(reference.scope == scope && reference.name == name && reference.description == text)
    }

    @Test("malformed references name the option", arguments: ["admin/KEY", "kw://KEY", "kw:///KEY", "kw://admin/", "https://admin/KEY"])
    func badReferences(text: String) {
        let error = #expect(throws: KeywardenError.self) { try AdminKeyReference(parsing: text) }
        #expect(error?.message.contains("--admin-key") == true)
    }
}

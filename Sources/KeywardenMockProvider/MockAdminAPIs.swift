import Foundation
import KeywardenCore
import NIOConcurrencyHelpers

/// A key the mock's admin APIs hold: a service account (OpenAI), a key
/// (OpenRouter), or an organisation key (Anthropic).
public struct MockAdminKey: Sendable, Equatable {
    public var provider: String
    /// OpenAI: the service account id; OpenRouter: the hash; Anthropic: `apikey_…`.
    public var id: String
    public var name: String
    /// `active`, `inactive` (Anthropic), or `deleted`.
    public var status: String
    /// The key's value (the mock's own record, for tests).
    public var value: String
}

/// Plays the providers' admin APIs with the shapes their documentation gives
/// (docs/rotation-apis.md), including their failures:
///
/// - OpenAI: `POST/GET /v1/organization/projects/{p}/service_accounts`,
///   `DELETE …/service_accounts/{id}`;
/// - OpenRouter: `POST/GET /api/v1/keys`, `DELETE /api/v1/keys/{hash}`;
/// - Anthropic: `GET /v1/organizations/api_keys`, `POST /v1/organizations/api_keys/{id}`.
///
/// A scenario set per provider (`setAdminScenario`) makes them fail:
/// `badadmin` (401 to every admin call), `quota` (create refused, 4xx, as at
/// a limit on the number of keys), `hangcreate` / `hang` (no answer to the
/// create / to any admin call), `lostcreate` (the key is made but the answer
/// is a 502), `faildelete` (delete or deactivate answers 500), `newkeyinvalid`
/// (the created key then fails its test: 401).
final class MockAdminState: Sendable {
    private struct Store {
        var keys: [MockAdminKey] = []
        var scenarios: [String: String] = [:]
        var serial = 0
    }

    private let store = NIOLockedValueBox(Store())

    /// nil: not an admin path. `.some(nil)`: no answer (a hang).
    func answer(provider: String, method: String, path: String, body: [UInt8], key: String?, state: MockState) -> ProbeResponse?? {
        let segments = path.split(separator: "/").map(String.init)
        let route: (kind: String, id: String?)?
        switch provider {
        case "openai":
            // /openai/v1/organization/projects/{p}/service_accounts[/{id}]
            guard segments.count >= 6, segments[1] == "v1", segments[2] == "organization", segments[3] == "projects", segments[5] == "service_accounts" else { return nil }
            route = ("service_accounts", segments.count > 6 ? segments[6] : nil)
        case "openrouter":
            // /openrouter/v1/keys[/{hash}] (the base URL ends in /api)
            guard let index = segments.firstIndex(of: "keys"), index >= 2, segments[index - 1] == "v1" else { return nil }
            route = ("keys", index + 1 < segments.count ? segments[index + 1] : nil)
        case "anthropic":
            guard segments.count >= 4, segments[1] == "v1", segments[2] == "organizations", segments[3] == "api_keys" else { return nil }
            route = ("api_keys", segments.count > 4 ? segments[4] : nil)
        default:
            return nil
        }
        guard let route else { return nil }
        let scenario = store.withLockedValue { $0.scenarios[provider] } ?? ""
        let creating = method == "POST" && route.id == nil
        let retiring = method == "DELETE" || (provider == "anthropic" && method == "POST" && route.id != nil)
        if scenario == "hang" || (scenario == "hangcreate" && creating) { return .some(nil) }
        guard let key, !key.isEmpty, scenario != "badadmin" else { return .some(Self.unauthorized(provider)) }
        if scenario == "quota" && creating { return .some(Self.quota(provider)) }
        if scenario == "faildelete" && retiring {
            return .some(Self.json(500, provider == "anthropic"
                ? #"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#
                : #"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#))
        }
        switch (provider, method, route.id) {
        case ("openai", "POST", nil), ("openrouter", "POST", nil):
            let name = Self.field("name", in: body) ?? "unnamed"
            let (id, value) = store.withLockedValue { store -> (String, String) in
                store.serial += 1
                let tag = String(format: "%08x", store.serial &* 2654435761 & 0xffff_ffff)
                if provider == "openai" {
                    return ("svc_acct_mock\(tag)", "sk-svcacct-mock\(tag)" + String(repeating: "m", count: 24) + "T3BlbkFJ" + String(repeating: "k", count: 24))
                }
                return (String(repeating: tag, count: 8), "sk-or-v1-" + String(repeating: tag, count: 8))
            }
            if scenario == "newkeyinvalid" { state.setScenario(forKeyContaining: value, "invalid") }
            store.withLockedValue { $0.keys.append(MockAdminKey(provider: provider, id: id, name: name, status: "active", value: value)) }
            // The key is made, but its answer is lost (a proxy's 502 after the provider acted).
            if scenario == "lostcreate" {
                return .some(Self.json(502, #"{"error":{"message":"Bad gateway","type":"server_error","param":null,"code":null}}"#))
            }
            if provider == "openai" {
                return .some(Self.json(200, #"{"object":"organization.project.service_account","id":"\#(id)","name":"\#(name)","role":"member","created_at":1711471533,"api_key":{"object":"organization.project.service_account.api_key","value":"\#(value)","name":"Secret Key","created_at":1711471533,"id":"key_\#(id.dropFirst(9))"}}"#))
            }
            return .some(Self.json(201, #"{"data":{"hash":"\#(id)","name":"\#(name)","label":"\#(value.prefix(12))...\#(value.suffix(3))","disabled":false,"limit":null,"limit_remaining":null,"usage":0,"created_at":"2026-11-30T00:00:00.000Z","updated_at":null},"key":"\#(value)"}"#))
        case ("openai", "GET", nil), ("openrouter", "GET", nil):
            let live = store.withLockedValue { $0.keys.filter { $0.provider == provider && $0.status != "deleted" } }
            let items = live.map { provider == "openai"
                ? #"{"object":"organization.project.service_account","id":"\#($0.id)","name":"\#($0.name)","role":"member","created_at":1711471533}"#
                : #"{"hash":"\#($0.id)","name":"\#($0.name)","label":"\#($0.value.prefix(12))...","disabled":false}"# }
            return .some(Self.json(200, provider == "openai"
                ? #"{"object":"list","data":[\#(items.joined(separator: ","))],"first_id":null,"last_id":null,"has_more":false}"#
                : #"{"data":[\#(items.joined(separator: ","))]}"#))
        case ("openai", "DELETE", let id?), ("openrouter", "DELETE", let id?):
            let found = store.withLockedValue { store -> Bool in
                guard let i = store.keys.firstIndex(where: { $0.provider == provider && $0.id == id && $0.status != "deleted" }) else { return false }
                store.keys[i].status = "deleted"
                return true
            }
            guard found else {
                return .some(Self.json(404, provider == "openai"
                    ? #"{"error":{"message":"No such service account: \#(id)","type":"invalid_request_error","param":null,"code":null}}"#
                    : #"{"error":{"code":404,"message":"Key not found"}}"#))
            }
            return .some(Self.json(200, provider == "openai"
                ? #"{"object":"organization.project.service_account.deleted","id":"\#(id)","deleted":true}"#
                : #"{"deleted":true}"#))
        case ("anthropic", "GET", nil):
            let keys = store.withLockedValue { $0.keys.filter { $0.provider == "anthropic" } }
            let items = keys.map { #"{"id":"\#($0.id)","type":"api_key","name":"\#($0.name)","partial_key_hint":"\#(Self.anthropicHint($0.value))","status":"\#($0.status)","created_at":"2026-11-01T00:00:00Z","created_by":{"id":"user_01","type":"user"},"workspace_id":null}"# }
            return .some(Self.json(200, #"{"data":[\#(items.joined(separator: ","))],"has_more":false,"first_id":\#(keys.first.map { "\"\($0.id)\"" } ?? "null"),"last_id":\#(keys.last.map { "\"\($0.id)\"" } ?? "null")}"#))
        case ("anthropic", "POST", let id?):
            let status = Self.field("status", in: body) ?? "active"
            let updated = store.withLockedValue { store -> MockAdminKey? in
                guard let i = store.keys.firstIndex(where: { $0.provider == "anthropic" && $0.id == id }) else { return nil }
                store.keys[i].status = status
                return store.keys[i]
            }
            guard let updated else {
                return .some(Self.json(404, #"{"type":"error","error":{"type":"not_found_error","message":"API key not found"}}"#))
            }
            if status != "active" { state.setScenario(forKeyContaining: updated.value, "invalid") }
            return .some(Self.json(200, #"{"id":"\#(id)","type":"api_key","name":"\#(updated.name)","partial_key_hint":"\#(Self.anthropicHint(updated.value))","status":"\#(status)","created_at":"2026-11-01T00:00:00Z","created_by":{"id":"user_01","type":"user"},"workspace_id":null}"#))
        default:
            return .some(Self.json(405, #"{"error":{"message":"method not allowed"}}"#))
        }
    }

    /// A top-level string member of a JSON request body.
    static func field(_ name: String, in body: [UInt8]) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?[name] as? String
    }

    /// Anthropic's `partial_key_hint`: `sk-ant-api03-R2D...igAA`.
    static func anthropicHint(_ value: String) -> String { "\(value.prefix(16))...\(value.suffix(4))" }

    static func unauthorized(_ provider: String) -> ProbeResponse {
        switch provider {
        case "openai": json(401, #"{"error":{"message":"Incorrect API key provided: sk-admin-****. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#)
        case "anthropic": json(401, #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#)
        default: json(401, #"{"error":{"code":401,"message":"User not found."}}"#)
        }
    }

    static func quota(_ provider: String) -> ProbeResponse {
        provider == "openai"
            ? json(400, #"{"error":{"message":"This project has reached its maximum number of service accounts.","type":"invalid_request_error","param":null,"code":null}}"#)
            : json(403, #"{"error":{"code":403,"message":"Key limit reached for this account"}}"#)
    }

    static func json(_ status: Int, _ body: String) -> ProbeResponse {
        ProbeResponse(status: status, headers: [("content-type", "application/json")], body: body)
    }

    func setScenario(_ provider: String, _ scenario: String?) { store.withLockedValue { $0.scenarios[provider] = scenario } }

    func add(_ key: MockAdminKey) { store.withLockedValue { $0.keys.append(key) } }

    func keys(_ provider: String) -> [MockAdminKey] { store.withLockedValue { $0.keys.filter { $0.provider == provider } } }
}

extension MockProviderServer {
    /// Makes `provider`'s admin API fail as `scenario` says (`badadmin`,
    /// `quota`, `hangcreate`, `hang`, `faildelete`, `newkeyinvalid`); nil
    /// makes it answer normally again.
    public func setAdminScenario(_ provider: String, _ scenario: String?) {
        state.admin.setScenario(provider, scenario?.lowercased())
    }

    /// Every key `provider`'s admin API holds or held (deleted ones marked `deleted`).
    public func adminKeys(_ provider: String) -> [MockAdminKey] { state.admin.keys(provider) }

    /// A key made in Anthropic's Console: listed by the Admin API with its hint.
    public func addAnthropicConsoleKey(id: String, name: String, value: String) {
        state.admin.add(MockAdminKey(provider: "anthropic", id: id, name: name, status: "active", value: value))
    }
}

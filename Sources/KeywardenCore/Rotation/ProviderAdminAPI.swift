import Foundation
import KeywardenCrypto
import NIOCore

/// A built-in rotator: rotation through a provider's own admin API instead of
/// a `--command` script (`rotate policy … --via KIND`). See
/// docs/rotation-apis.md for the endpoints and fields relied on.
public enum ProviderRotatorKind: String, Codable, Sendable, CaseIterable {
    /// OpenAI Admin API: a project service account and its key.
    case openaiAdmin = "openai-admin"
    /// OpenRouter's management (provisioning) key API.
    case openrouterManagement = "openrouter-management"
    /// Anthropic Admin API: assisted (it cannot create keys; it deactivates the old one).
    case anthropicAdmin = "anthropic-admin"

    /// The provider whose pools it rotates.
    public var provider: String {
        switch self {
        case .openaiAdmin: "openai"
        case .openrouterManagement: "openrouter"
        case .anthropicAdmin: "anthropic"
        }
    }

    /// It makes the new key itself; Anthropic's needs a person to add a standby.
    public var creates: Bool { self != .anthropicAdmin }

    /// What it does at the end of grace, for messages.
    var retireVerb: String { self == .anthropicAdmin ? "deactivate" : "delete" }
}

/// `kw://SCOPE/NAME`: an admin key in the vault, by scope and its variable
/// name or label.
struct AdminKeyReference: Sendable, Equatable, CustomStringConvertible {
    var scope: String
    var name: String

    init(parsing text: String) throws(KeywardenError) {
        let rule = "use kw://SCOPE/NAME, NAME being the admin key's variable name or label (e.g. kw://admin/OPENAI_ADMIN_KEY)"
        guard text.hasPrefix("kw://") else { throw KeywardenError(.invalidInput, "invalid --admin-key '\(text)': \(rule)") }
        let rest = text.dropFirst(5)
        guard let slash = rest.lastIndex(of: "/") else { throw KeywardenError(.invalidInput, "invalid --admin-key '\(text)': \(rule)") }
        scope = String(rest[..<slash])
        name = String(rest[rest.index(after: slash)...])
        guard Names.isScope(scope), !name.isEmpty, Names.isLabel(name) else { throw KeywardenError(.invalidInput, "invalid --admin-key '\(text)': \(rule)") }
    }

    var description: String { "kw://\(scope)/\(name)" }
}

extension Vault {
    /// The admin key a policy names: an active key of `provider` in the
    /// reference's scope whose variable name or label is the reference's
    /// name, marked `--admin`. Anything else is an error naming the reference.
    func adminKey(_ reference: AdminKeyReference, provider: String, _ tx: any StoreReading) throws -> KeyRecord {
        guard try tx.scopeExists(reference.scope) else { throw KeywardenError.unknownScope(reference.scope) }
        // `failed` too: the provider's model probe (`validate`) may refuse an
        // admin key, which says nothing about the admin API.
        let keys = try tx.keys(.pool(Pool(provider: provider, scope: reference.scope), states: [.active, .standby, .failed]))
        let named = keys.filter { $0.env == reference.name || $0.label == reference.name }
        guard let key = named.first(where: { $0.state == .active }) ?? named.first else {
            throw KeywardenError(.notFound, "\(reference) names no \(provider) key in scope \(reference.scope); add the admin key with `keywarden key add \(provider) --scope \(reference.scope) --admin --env \(reference.name)`")
        }
        guard key.role == .admin else {
            throw KeywardenError(.invalidInput, "\(reference) is key \(key.id), which is not marked as an admin key; an admin key lives in its own scope and is added with `keywarden key add \(provider) --scope \(reference.scope) --admin`, so that it is never delivered")
        }
        return key
    }

    /// The admin key's value, for a rotator.
    func openAdminKey(_ reference: AdminKeyReference, provider: String) throws(KeywardenError) -> (KeyRecord, SecureBytes) {
        let key = try read { tx in try adminKey(reference, provider: provider, tx) }
        return (key, try open(nonce: key.nonce, ciphertext: key.ciphertext, for: RowBinding(key: key)))
    }
}

/// A key created through an admin API: its value (once) and its provider-side id.
struct CreatedProviderKey: Sendable {
    var value: SecureBytes
    /// OpenAI: `PROJECT/SERVICE_ACCOUNT`; OpenRouter: the key's hash.
    var providerKeyID: String
}

/// Calls a provider's admin API with an admin key held in guarded memory.
/// Requests go through the validation's `ProbeClient` (verified TLS, the
/// proxy settings, plain HTTP to loopback only), so the admin key is written
/// into a request only where a key would be. Neither key's value reaches a
/// message: answers' text is redacted of both before it is shown.
struct ProviderAdminAPI: Sendable {
    var kind: ProviderRotatorKind
    /// The pool's provider: its base URL and how it expects a key.
    var definition: ProviderDefinition
    var adminKey: SecureBytes
    var reference: AdminKeyReference
    var project: String?
    var client: ProbeClient
    var timeout: TimeAmount

    /// Creates a key named `name` (OpenAI: a service account; OpenRouter: a key).
    func create(name: String) async throws(KeywardenError) -> CreatedProviderKey {
        let display = definition.displayName
        switch kind {
        case .openaiAdmin:
            guard let project else { throw KeywardenError(.invalidInput, "the openai-admin rotator needs --project PROJECT_ID") }
            let body = try Self.json(["name": name])
            var response = try await send("POST", "/v1/organization/projects/\(ProbeCredential.percentEncoded(project))/service_accounts", body: body, doing: "create a service account")
            defer { wipe(&response.body) }
            guard let value = Self.takeString(member: "value", from: &response.body) else {
                throw KeywardenError(.failed, "\(display) created a service account but its answer carries no api_key.value; delete the service account named \(name) in project \(project) by hand")
            }
            let parsed = JSONValue.parse(response.body)
            guard let id = parsed?.values(at: ["id"]).first, !id.isEmpty else {
                throw KeywardenError(.failed, "\(display)'s answer to the service account creation carries no id; delete the service account named \(name) in project \(project) by hand")
            }
            return CreatedProviderKey(value: value, providerKeyID: "\(project)/\(id)")
        case .openrouterManagement:
            let body = try Self.json(["name": name])
            var response = try await send("POST", "/v1/keys", body: body, doing: "create a key")
            defer { wipe(&response.body) }
            guard let value = Self.takeString(member: "key", from: &response.body) else {
                throw KeywardenError(.failed, "\(display) answered the key creation without a key; delete the key named \(name) by hand")
            }
            guard let hash = JSONValue.parse(response.body)?.values(at: ["data", "hash"]).first, !hash.isEmpty else {
                throw KeywardenError(.failed, "\(display)'s answer to the key creation carries no data.hash; delete the key named \(name) by hand")
            }
            return CreatedProviderKey(value: value, providerKeyID: hash)
        case .anthropicAdmin:
            throw KeywardenError(.invalidInput, "Anthropic's Admin API cannot create keys: add the new key as a standby (`keywarden key add anthropic --scope S`)")
        }
    }

    /// Deletes a key Keywarden created (OpenAI: its service account).
    func delete(providerKeyID id: String) async throws(KeywardenError) {
        switch kind {
        case .openaiAdmin:
            let parts = id.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw KeywardenError(.failed, "provider key id '\(id)' is not PROJECT/SERVICE_ACCOUNT") }
            _ = try await send("DELETE", "/v1/organization/projects/\(ProbeCredential.percentEncoded(parts[0]))/service_accounts/\(ProbeCredential.percentEncoded(parts[1]))",
                               body: nil, doing: "delete service account \(parts[1])", goneIsDone: true)
        case .openrouterManagement:
            _ = try await send("DELETE", "/v1/keys/\(ProbeCredential.percentEncoded(id))", body: nil, doing: "delete key \(id)", goneIsDone: true)
        case .anthropicAdmin:
            _ = try await send("POST", "/v1/organizations/api_keys/\(ProbeCredential.percentEncoded(id))", body: try Self.json(["status": "inactive"]),
                               doing: "deactivate key \(id)")
        }
    }

    /// The provider-side ids of keys named `name` (OpenAI: service accounts
    /// of the project, as `PROJECT/ID`; OpenRouter: hashes).
    func keys(named name: String) async throws(KeywardenError) -> [String] {
        var ids: [String] = []
        var after: String?
        for _ in 0..<50 {
            let path: String
            switch kind {
            case .openaiAdmin:
                guard let project else { return [] }
                path = "/v1/organization/projects/\(ProbeCredential.percentEncoded(project))/service_accounts?limit=100\(after.map { "&after=\(ProbeCredential.percentEncoded($0))" } ?? "")"
            case .openrouterManagement:
                path = "/v1/keys\(after.map { "?offset=\($0)" } ?? "")"
            case .anthropicAdmin:
                return []
            }
            var response = try await send("GET", path, body: nil, doing: "list keys")
            defer { wipe(&response.body) }
            guard let page = JSONValue.parse(response.body), case .object(let members) = page, case .array(let items)? = members["data"] else {
                throw KeywardenError(.failed, "\(definition.displayName)'s key list is not the documented JSON ({\"data\": [...]})")
            }
            for item in items where item.values(at: ["name"]).first == name {
                guard let id = item.values(at: [kind == .openaiAdmin ? "id" : "hash"]).first else { continue }
                ids.append(kind == .openaiAdmin ? "\(project!)/\(id)" : id)
            }
            if kind == .openaiAdmin {
                guard page.values(at: ["has_more"]).first == "true", let last = page.values(at: ["last_id"]).first, last != after else { break }
                after = last
            } else {
                // OpenRouter pages by offset; an empty page ends the list.
                guard !items.isEmpty, items.count >= 100 else { break }
                after = String((Int(after ?? "0") ?? 0) + items.count)
            }
        }
        return ids
    }

    /// Anthropic: the Admin API id of the key whose `partial_key_hint`
    /// matches `value` (compared in guarded memory), among the organisation's
    /// keys. Exactly one must match.
    func findAnthropicKey(matching value: SecureBytes, keyID: String) async throws(KeywardenError) -> String {
        var matches: [String] = []
        var after: String?
        for _ in 0..<50 {
            var response = try await send("GET", "/v1/organizations/api_keys?limit=100\(after.map { "&after_id=\(ProbeCredential.percentEncoded($0))" } ?? "")",
                                          body: nil, doing: "list API keys")
            defer { wipe(&response.body) }
            guard let page = JSONValue.parse(response.body), case .object(let members) = page, case .array(let items)? = members["data"] else {
                throw KeywardenError(.failed, "Anthropic's API key list is not the documented JSON ({\"data\": [...]})")
            }
            for item in items {
                guard let id = item.values(at: ["id"]).first, let hint = item.values(at: ["partial_key_hint"]).first else { continue }
                if Self.matches(hint: hint, value) { matches.append(id) }
            }
            guard page.values(at: ["has_more"]).first == "true", let last = page.values(at: ["last_id"]).first, last != after else { break }
            after = last
        }
        guard matches.count == 1 else {
            throw KeywardenError(.failed, matches.isEmpty
                ? "no key listed by Anthropic's Admin API matches key \(keyID) (wrong organisation, or already archived); deactivate it in the Console"
                : "\(matches.count) keys listed by Anthropic's Admin API match key \(keyID) (\(matches.joined(separator: ", "))); deactivate the right one in the Console")
        }
        return matches[0]
    }

    /// `sk-ant-api03-R2D...igAA`: the value starts with the part before
    /// `...` and ends with the part after it.
    static func matches(hint: String, _ value: SecureBytes) -> Bool {
        guard let dots = hint.range(of: "...") else { return false }
        let head = Array(hint[..<dots.lowerBound].utf8), tail = Array(hint[dots.upperBound...].utf8)
        guard head.count >= 8, tail.count >= 2, head.count + tail.count <= value.count else { return false }
        return value.withUnsafeBytes { bytes in
            bytes.prefix(head.count).elementsEqual(head) && bytes.suffix(tail.count).elementsEqual(tail)
        }
    }

    /// Sends one request; a non-2xx answer is an error saying what failed,
    /// with the provider's message redacted of both keys.
    /// `goneIsDone`: a delete answered 404 finds the key already gone, which is what it wanted.
    private func send(_ method: String, _ path: String, body: [UInt8]?, doing what: String, goneIsDone: Bool = false) async throws(KeywardenError) -> ProbeResponse {
        let request = try makeRequest(method, path, body: body ?? [])
        let display = definition.displayName
        switch await client.send(request, timeout: timeout) {
        case .failure(let failure):
            throw KeywardenError(.failed, "could not \(what) through \(display)'s admin API: \(failure.detail) (\(failure.stage.rawValue))")
        case .success(var response):
            guard (200..<300).contains(response.status) || (goneIsDone && response.status == 404) else {
                defer { wipe(&response.body) }
                var redactor = SecretRedactor([adminKey])
                defer { redactor.erase() }
                let message = Self.message(in: response.body, redactor)
                let hint: String = switch response.status {
                case 401: "; the admin key \(reference) was refused: check it is a current \(kind.rawValue) key"
                case 403: "; the admin key \(reference) may not do this (permissions, or a project it cannot manage)"
                case 404: "; not found (a wrong project id, or it is already gone)"
                case 429: "; rate limited or at a quota: try again later, or delete unused keys"
                default: (400..<500).contains(response.status) ? "" : "; the provider had an error: try again later"
                }
                throw KeywardenError(.failed, "\(display)'s admin API refused to \(what) (HTTP \(response.status)\(message.isEmpty ? "" : ": \(message)"))\(hint)")
            }
            return response
        }
    }

    /// The error's message from an answer, redacted, then shortened.
    static func message(in body: [UInt8], _ redactor: SecretRedactor) -> String {
        let redacted = redactor.redact(body)
        let parsed = JSONValue.parse(redacted)
        let text = parsed?.values(at: ["error", "message"]).first ?? parsed?.values(at: ["error"]).first ?? ""
        // A provider may echo part of the key it refused ("Incorrect API key
        // provided: sk-admin-ab***yz"): no part of a key is repeated.
        let words = text.replacingOccurrences(of: "\n", with: " ").split(separator: " ", omittingEmptySubsequences: false)
            .map { $0.contains("sk-") ? "[key]" : String($0) }
        return String(words.joined(separator: " ").prefix(200))
    }

    private func makeRequest(_ method: String, _ path: String, body: [UInt8]) throws(KeywardenError) -> ProbeRequest {
        guard let url = URLComponents(string: definition.baseURL), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else {
            throw KeywardenError(.invalidInput, "provider '\(definition.name)' has a malformed base URL '\(definition.baseURL)'; fix it with `keywarden provider set \(definition.name) --base-url URL`")
        }
        if scheme == "http", !LoopbackHost.contains(host), !definition.allowInsecureHTTP {
            throw KeywardenError.plainHTTPRefused(provider: definition.name, url: definition.baseURL)
        }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let basePath = url.percentEncodedPath.hasSuffix("/") ? String(url.percentEncodedPath.dropLast()) : url.percentEncodedPath
        var headers: [(String, String)] = [("host", port == (scheme == "https" ? 443 : 80) ? host : "\(host):\(port)"),
                                           ("user-agent", "keywarden/0.1 (rotation)"), ("accept", "application/json")]
        let placement: ProbeCredential.Placement = switch definition.auth.style {
        case .bearer: .header(name: "authorization", prefix: "Bearer ")
        case .header: .header(name: (definition.auth.name ?? "x-api-key").lowercased(), prefix: "")
        case .query: .query(name: definition.auth.name ?? "key")
        }
        for (name, value) in definition.headers.sorted(by: { $0.key < $1.key }) { headers.append((name.lowercased(), value)) }
        if !body.isEmpty { headers.append(("content-type", "application/json")) }
        headers.append(("content-length", String(body.count)))
        return ProbeRequest(scheme: scheme, host: host, port: port, target: basePath + path, method: method, headers: headers, body: body,
                            credential: ProbeCredential(placement: placement, value: adminKey), allowsInsecureHTTP: definition.allowInsecureHTTP)
    }

    static func json(_ object: [String: String]) throws(KeywardenError) -> [UInt8] {
        do {
            return Array(try JSONEncoder.sorted.encode(object))
        } catch {
            throw KeywardenError(.failed, "cannot encode a request: \(error)")
        }
    }

    /// Takes the string value of the first member named `member` out of a
    /// JSON answer into guarded memory and blanks it in `body`, so that the
    /// new key never becomes a Swift `String`. A key has no escapes: a
    /// backslash in the value is refused.
    static func takeString(member: String, from body: inout [UInt8]) -> SecureBytes? {
        let name = Array("\"\(member)\"".utf8)
        var i = 0
        while i + name.count <= body.count {
            guard body[i..<(i + name.count)].elementsEqual(name) else { i += 1; continue }
            // A member name follows `{` or `,` (after whitespace), and is followed by `:`.
            var before = i - 1
            while before >= 0, [0x20, 0x09, 0x0A, 0x0D].contains(body[before]) { before -= 1 }
            var j = i + name.count
            while j < body.count, [0x20, 0x09, 0x0A, 0x0D].contains(body[j]) { j += 1 }
            guard before >= 0, body[before] == UInt8(ascii: "{") || body[before] == UInt8(ascii: ","), j < body.count, body[j] == UInt8(ascii: ":") else {
                i += 1
                continue
            }
            j += 1
            while j < body.count, [0x20, 0x09, 0x0A, 0x0D].contains(body[j]) { j += 1 }
            guard j < body.count, body[j] == UInt8(ascii: "\"") else { return nil }
            let start = j + 1
            var end = start
            while end < body.count, body[end] != UInt8(ascii: "\"") {
                if body[end] == UInt8(ascii: "\\") { return nil }
                end += 1
            }
            guard end < body.count, end > start else { return nil }
            let value = SecureBytes(copying: body[start..<end])
            for k in start..<end { body[k] = UInt8(ascii: "x") }
            return value
        }
        return nil
    }
}

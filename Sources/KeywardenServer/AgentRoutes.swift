import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore
import KeywardenCrypto

/// The agent's HTTP API (see the README for `curl --unix-socket` examples).
struct AgentRoutes: Sendable {
    let state: AgentState
    let audit: AuditJournal
    let metrics: AgentMetrics
    let access: AccessControl
    let failover: @Sendable (Vault, String, String) -> Bool

    func add(to router: Router<AgentRequestContext>) {
        router.get("/v1/health", use: health)
        router.get("/v1/keys", use: listKeys)
        router.get("/v1/keys/:provider", use: activeKey)
        router.get("/v1/values/:id", use: valueByID)
        router.get("/v1/env", use: environment)
        router.get("/v1/names", use: names)
        router.post("/v1/reports", use: report)
        router.post("/v1/lock", use: lock)
        router.post("/v1/validate", use: validate)
        router.post("/v1/exported-files", use: rememberExport)
        router.get("/metrics", use: prometheus)
    }

    // MARK: - Routes

    @Sendable func health(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        try json(HealthAnswer(status: "ok", locked: state.isLocked, version: KeywardenVersion.current, startedAt: state.startedAt.iso8601))
    }

    /// `locked` is a JSON boolean so clients decode it instead of searching the text.
    struct HealthAnswer: Encodable {
        var status: String
        var locked: Bool
        var version: String
        var startedAt: String
        enum CodingKeys: String, CodingKey { case status, locked, version, startedAt = "started_at" }
    }

    @Sendable func listKeys(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        let scope = request.uri.queryParameters["scope"].map(String.init)
        try await access.require(caller, scope: scope)
        let vault = try await unlocked()
        var keys = try run(caller) { try vault.listKeys(KeyFilter(scope: scope)) }
        if let token = caller.token { keys = keys.filter { token.allows(provider: $0.provider) } }
        return try json(keys)
    }

    @Sendable func activeKey(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        let provider = try context.parameters.require("provider")
        guard let scope = request.uri.queryParameters["scope"].map(String.init) else { throw AgentError(.badRequest, "missing ?scope=…") }
        try await access.require(caller, scope: scope, provider: provider)
        let vault = try await unlocked()
        let (key, value): (KeyInfo, SecureBytes)
        if let cached = state.cache.lookup(provider: provider, scope: scope) {
            (key, value) = cached
        } else {
            let stamp = state.cache.currentStamp()
            (key, value) = try run(caller) { try vault.resolveActiveKey(provider: provider, scope: scope) }
            state.cache.store(provider: provider, scope: scope, key: key, value: value, stampBefore: stamp)
        }
        // The value leaves only after its event is durable.
        try await audit.record(servedEvent(key: key, scope: scope, caller: caller, request: request))
        metrics.valueServed()
        return ServedKey.response(key, value)
    }

    @Sendable func valueByID(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        try await access.requireOwner(caller, "reading a key by id")
        let id = try context.parameters.require("id")
        let vault = try await unlocked()
        // The caller and its purpose are recorded, and the event is durable
        // before the value leaves: revealKey commits it before returning.
        let (key, value) = try run {
            try vault.revealKey(id: id, purpose: "key.reveal", actor: caller.actor,
                                detail: purpose(request))
        }
        // Locked meanwhile: nothing leaves, as for the other routes.
        guard !state.isLocked else { throw AgentError.locked }
        metrics.valueServed()
        return try json(ServedKey(id: key.id, provider: key.provider, scope: key.scope, env: key.env, fingerprint: key.fingerprint,
                                  value: value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }))
    }

    @Sendable func environment(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        guard let scope = request.uri.queryParameters["scope"].map(String.init) else { throw AgentError(.badRequest, "missing ?scope=…") }
        try await access.require(caller, scope: scope)
        let formatName = request.uri.queryParameters["format"].map(String.init) ?? "dotenv"
        guard let format = ExportFormat(rawValue: formatName) else {
            throw AgentError(.badRequest, "unknown format '\(formatName)': use dotenv, shell, docker, systemd or json")
        }
        let only = request.uri.queryParameters["only"].map { $0.split(separator: ",").map(String.init) }
        let vault = try await unlocked()
        let variables = try run(caller) { try vault.resolveEnvironment(scope: scope, only: only, visible: caller.allows) }
        var plain = variables.map { (name: $0.name, value: $0.value?.copyBytes() ?? []) }
        defer { for i in plain.indices { wipe(&plain[i].value) } }
        if request.uri.queryParameters["encoding"] == "base64" {
            // Exact bytes for the CLI, which encodes them itself (any value, even not UTF-8).
            plain = plain.map { ($0.name, Array(Data($0.value).base64EncodedString().utf8)) }
        }
        let bytes: [UInt8]
        do {
            bytes = try EnvironmentEncoder.encode(plain, as: format)
        } catch {
            throw AgentError(.unprocessableContent, error.description)
        }
        try await audit.record(variables.map { servedEvent(variable: $0, scope: scope, caller: caller, request: request) })
        for _ in variables { metrics.valueServed() }
        let type = format == .json ? "application/json" : "text/plain; charset=utf-8"
        return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func names(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        guard let scope = request.uri.queryParameters["scope"].map(String.init) else { throw AgentError(.badRequest, "missing ?scope=…") }
        try await access.require(caller, scope: scope)
        let vault = try await unlocked()
        let variables = try run(caller) { try vault.resolveEnvironment(scope: scope, decrypt: false, visible: caller.allows) }
        return try json(variables.map(\.name))
    }

    struct ReportBody: Decodable {
        var keyID: String?
        var fingerprint: String?
        var value: String?
        var status: Int
        var detail: String?
        enum CodingKeys: String, CodingKey { case keyID = "key_id", fingerprint, value, status, detail }
    }

    @Sendable func report(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        let body: ReportBody
        do {
            body = try await request.decode(as: ReportBody.self, context: context)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw error
        } catch {
            throw AgentError(.badRequest, "expected JSON {\"key_id\"|\"fingerprint\"|\"value\": …, \"status\": 401, \"detail\": \"…\"}")
        }
        let vault = try await unlocked()
        // A token touches only keys in its grant, checked for every matching
        // key before anything changes; others answer "not found".
        let results = try run(caller) {
            try vault.report(
                KeyReport(keyID: body.keyID, fingerprint: body.fingerprint, value: body.value.map { SecureBytes(copying: Array($0.utf8)) },
                          status: body.status, detail: body.detail),
                by: caller.actor, visible: caller.allows(provider:scope:), failover: { provider, scope in failover(vault, provider, scope) })
        }
        for result in results { metrics.report(result.outcome.rawValue) }
        return try json(results)
    }

    struct ValidateBody: Decodable {
        var provider: String?
        var scope: String?
        var keyID: String?
        var all: Bool?
        var concurrency: Int?
        var perProvider: Int?
        var timeoutSeconds: Int?
        enum CodingKeys: String, CodingKey {
            case provider, scope, keyID = "key_id", all, concurrency, perProvider = "per_provider", timeoutSeconds = "timeout_seconds"
        }
    }

    struct ValidateAnswer: Codable {
        var checks: [KeyCheck]
        var failovers: [ReportResult]
    }

    /// Runs `validate` inside the agent (owner only): same checks, same records.
    @Sendable func validate(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        try await access.requireOwner(caller, "validating keys")
        let body: ValidateBody
        do {
            body = try await request.decode(as: ValidateBody.self, context: context)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw error
        } catch {
            throw AgentError(.badRequest, "expected JSON {\"provider\", \"scope\", \"key_id\", \"all\", \"concurrency\", \"timeout_seconds\"}")
        }
        let vault = try await unlocked()
        let keys = try run { try vault.keysToCheck(ValidationSelection(provider: body.provider, scope: body.scope, keyID: body.keyID, all: body.all ?? false)) }
        let validator = Validator(client: ProbeClient(proxies: ProxySettings(environment: ProcessInfo.processInfo.environment),
                                                      caFile: ProcessInfo.processInfo.environment["KEYWARDEN_CA_FILE"]),
                                  timeout: .seconds(Int64(max(1, min(body.timeoutSeconds ?? 15, 3600)))),
                                  concurrency: max(1, min(body.concurrency ?? 8, 1024)), perProvider: body.perProvider)
        let checks = await validator.check(keys)
        // Locked while the checks ran: nothing more is written through the
        // vault this request captured.
        _ = try await unlocked()
        try run { try vault.recordChecks(checks, by: "validate (agent, uid \(caller.peer.uid), pid \(caller.peer.pid))") }
        _ = try await unlocked()
        let failovers = try run { try vault.failover(after: checks) }
        for check in checks { metrics.validation(check.outcome.rawValue) }
        return try json(ValidateAnswer(checks: checks, failovers: failovers))
    }

    @Sendable func lock(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        try await access.requireOwner(caller, "locking the agent")
        if !state.isLocked {
            // Locking is the safe direction: it happens even if the event cannot be written.
            try? await audit.record(AuditDraft(action: "agent.lock", outcome: "ok",
                                               detail: "locked by uid \(caller.peer.uid), pid \(caller.peer.pid); the agent restarts locked", actor: caller.actor))
        }
        state.lock()
        return try json(["status": "locked"])
    }

    @Sendable func prometheus(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        _ = try context.caller
        let text = metrics.render(locked: state.isLocked)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: - Helpers

    func unlocked() async throws -> Vault {
        guard let vault = state.current else { throw AgentError.locked }
        return vault
    }

    func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as KeywardenError {
            throw AgentError.from(error)
        }
    }

    /// Like `run`, but a token's "not found" is the one answer it also gets
    /// for what lies outside its grant.
    func run<T>(_ caller: Caller, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as KeywardenError {
            if caller.token != nil, error.kind == .notFound { throw AgentError.notFoundForToken }
            throw AgentError.from(error)
        }
    }

    func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// A short purpose from the CLI (`export to .env (dotenv)`), for the audit trail.
    func purpose(_ request: Request) -> String {
        let raw = request.headers[HTTPField.Name("x-keywarden-purpose")!] ?? "served"
        return String(raw.prefix(120).filter { !$0.isNewline })
    }

    func servedEvent(key: KeyInfo, scope: String, caller: Caller, request: Request) -> AuditDraft {
        AuditDraft(action: "agent.serve", provider: key.provider, scope: scope, keyID: key.id, fingerprint: key.fingerprint,
                                      outcome: "ok", detail: "\(purpose(request)): \(key.env)\(key.scope != scope ? " (from \(key.scope))" : "")", actor: caller.actor)
    }

    func servedEvent(variable: DeliveredVariable, scope: String, caller: Caller, request: Request) -> AuditDraft {
        switch variable.origin {
        case .key(let id, let provider, let fingerprint):
            AuditDraft(action: "agent.serve", provider: provider, scope: scope, keyID: id, fingerprint: fingerprint,
                       outcome: "ok", detail: "\(purpose(request)): \(variable.name)", actor: caller.actor)
        case .config:
            AuditDraft(action: "agent.serve", scope: scope, outcome: "ok", detail: "\(purpose(request)): config \(variable.name)", actor: caller.actor)
        }
    }
}

/// A key as served: value included.
struct ServedKey: Encodable {
    var id: String
    var provider: String
    var scope: String
    var env: String
    var fingerprint: String
    var value: String

    /// The hot path's answer, written directly into a buffer (the same JSON
    /// JSONEncoder would give, without its cost per request).
    static func response(_ key: KeyInfo, _ value: SecureBytes) -> Response {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(256 + value.count)
        func field(_ name: String, _ text: some Collection<UInt8>, last: Bool = false) {
            buffer.writeString("\"\(name)\":\"")
            appendEscaped(text, to: &buffer)
            buffer.writeString(last ? "\"" : "\",")
        }
        buffer.writeString("{")
        field("env", key.env.utf8)
        field("fingerprint", key.fingerprint.utf8)
        field("id", key.id.utf8)
        field("provider", key.provider.utf8)
        field("scope", key.scope.utf8)
        value.withUnsafeBytes { field("value", $0, last: true) }
        buffer.writeString("}")
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    /// JSON string escaping of UTF-8 bytes.
    static func appendEscaped(_ bytes: some Collection<UInt8>, to buffer: inout ByteBuffer) {
        let hex = Array("0123456789abcdef".utf8)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeString("\\\\")
            case 0x0A: buffer.writeString("\\n")
            case 0x0D: buffer.writeString("\\r")
            case 0x09: buffer.writeString("\\t")
            case 0..<0x20:
                buffer.writeString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xf)])
            default: buffer.writeInteger(byte)
            }
        }
    }
}

/// Times every request and counts it by route template and status.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext
    let metrics: AgentMetrics

    func handle(_ request: Request, context: AgentRequestContext, next: (Request, AgentRequestContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(context, status: response.status.code, start)
            return response
        } catch let error as any HTTPResponseError {
            record(context, status: error.status.code, start)
            throw error
        } catch {
            record(context, status: 500, start)
            throw error
        }
    }

    private func record(_ context: AgentRequestContext, status: Int, _ start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        metrics.request(route: context.endpointPath ?? "unmatched", status: status, seconds: seconds)
    }
}

import Foundation
import Hummingbird
import KeywardenCore

/// Delivery: `GET /v1/env?scope=S` (the scope's variables, encoded as
/// `export` encodes them) and `GET /v1/names?scope=S`, for the owner and for
/// tokens within their grant; and the owner's `POST /v1/exported-files`
/// (`delivery.remember-export`).
///
/// The two reads resolve the scope through the vault rather than
/// `delivery.environment` and `delivery.names`: a token's grant filters the
/// variables (`visible:`), which an operation's request cannot carry, and
/// each value served here is recorded as `agent.serve` through the agent's
/// journal (one group commit for many clients), where the operation
/// records an `export`/`run`/`inject` delivery.
struct DeliveryRoutes: Sendable {
    let agent: AgentDependencies

    var endpoints: RouteCollection<AgentRequestContext> {
        let routes = RouteCollection(context: AgentRequestContext.self)
        routes.get("/v1/env", use: environment)
        routes.get("/v1/names", use: names)
        routes.group("/v1/exported-files")
            .add(middleware: OwnerOnlyMiddleware(access: agent.access, what: "recording an exported file"))
            .post(use: rememberExport)
        return routes
    }

    /// `?format=dotenv|shell|docker|systemd|json` (dotenv by default),
    /// `&only=A,B`, and `&encoding=base64` for the CLI, which encodes the
    /// exact bytes itself. Each variable's `agent.serve` event is durable
    /// before the answer leaves.
    @Sendable func environment(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        let scope = try request.requiredScope()
        try agent.access.require(caller, scope: scope)
        let format = try Self.format(request.uri.queryParameters["format"].map(String.init) ?? "dotenv")
        let only = request.uri.queryParameters["only"].map { $0.split(separator: ",").map(String.init) }
        let variables = try await agent.vault(for: caller, request) { vault in
            try vault.resolveEnvironment(scope: scope, only: only, visible: caller.allows)
        }
        var plain = variables.map { (name: $0.name, value: $0.value?.copyBytes() ?? []) }
        defer { for i in plain.indices { Secrets.wipe(&plain[i].value) } }
        if request.uri.queryParameters["encoding"] == "base64" {
            plain = plain.map { ($0.name, Array(Data($0.value).base64EncodedString().utf8)) }
        }
        let bytes: [UInt8]
        do {
            bytes = try EnvironmentEncoder.encode(plain, as: format)
        } catch {
            throw KeywardenError(.invalidInput, error.description)
        }
        try await agent.audit.record(variables.map { served($0, scope: scope, caller: caller, request: request) })
        for _ in variables { agent.metrics.valueServed() }
        agent.freedMemory.answered(values: variables.count)
        let type = format == .json ? "application/json" : "text/plain; charset=utf-8"
        return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The names `/v1/env` would serve, without decrypting anything.
    @Sendable func names(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        let scope = try request.requiredScope()
        try agent.access.require(caller, scope: scope)
        let variables = try await agent.vault(for: caller, request) { vault in
            try vault.resolveEnvironment(scope: scope, decrypt: false, visible: caller.allows)
        }
        return try .json(variables.map(\.name))
    }

    /// `{"path": "/abs/file", "scope": "prod", "format": "dotenv", "only": ["NAME", …]}`.
    struct ExportedFileBody: Decodable {
        var path: String
        var scope: String
        var format: String
        var only: [String]?
    }

    /// Records a file `export --output` wrote, so that `rotate --reexport`
    /// rewrites it like a file written without an agent (owner only: a
    /// remembered file is where a later rotation writes keys). The CLI has
    /// no unlocked vault when it exports through the agent, and the list is
    /// authenticated (row MACs), so the agent records it.
    @Sendable func rememberExport(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        let body = try await request.decodeJSON(as: ExportedFileBody.self, context: context,
                                                expected: #"JSON {"path": "/absolute/file", "scope": "…", "format": "dotenv", "only": ["NAME"]}"#)
        let format = try Self.format(body.format)
        _ = try await agent.perform(Delivery.RememberExport(path: body.path, scope: body.scope, format: format, only: body.only), for: caller, request)
        return try .json(["path": body.path, "scope": body.scope, "format": format.rawValue])
    }

    static func format(_ name: String) throws -> ExportFormat {
        guard let format = ExportFormat(rawValue: name) else {
            throw KeywardenError(.invalidInput, "unknown format '\(name)': use dotenv, shell, docker, systemd or json")
        }
        return format
    }

    func served(_ variable: DeliveredVariable, scope: String, caller: Caller, request: Request) -> AuditDraft {
        switch variable.origin {
        case .key(let id, let provider, let fingerprint):
            AuditDraft(action: "agent.serve", provider: provider, scope: scope, keyID: id, fingerprint: fingerprint,
                       outcome: "ok", detail: "\(request.purpose): \(variable.name)", actor: caller.actor)
        case .config:
            AuditDraft(action: "agent.serve", scope: scope, outcome: "ok", detail: "\(request.purpose): config \(variable.name)", actor: caller.actor)
        }
    }
}

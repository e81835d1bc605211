import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Who sent a gateway request, as its audit events name it.
struct GatewayCaller: Sendable, Hashable {
    var uid: UInt32
    var pid: Int32
    /// `gateway client, token 'ci'` or the program over the socket (`python3 (via gateway)`).
    var name: String
    /// The scopes it may use and the providers (empty: all); nil for the owner.
    var token: AgentToken?
    /// Over TCP: the connection's ports, from which a refusal's event names the caller's uid and program.
    var tcpPorts: (client: Int, server: Int)? = nil

    var actor: AuditActor { AuditActor(uid: uid, pid: pid, name: name) }

    /// A caller of the TCP listener, named by its token (the kernel gives no peer credentials for TCP).
    static func tcp(token: AgentToken, ports: (client: Int, server: Int)?) -> GatewayCaller {
        GatewayCaller(uid: 0, pid: 0, name: "gateway client, token '\(token.name)'", token: token, tcpPorts: ports)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(uid)
        hasher.combine(pid)
        hasher.combine(name)
    }

    static func == (a: Self, b: Self) -> Bool { a.uid == b.uid && a.pid == b.pid && a.name == b.name }
}

/// The gateway: programs call a provider through the agent with a Keywarden
/// token, and the agent sends the request on with a key of the pool, so the
/// program never holds one. Shared by the loopback TCP listener
/// (``GatewayResponder``) and `/gw/{provider}/…` on the agent's socket.
final class Gateway: Sendable {
    let state: AgentState
    let vaultPool: NIOThreadPool
    let logger: Logger
    let settings: GatewaySettings
    let metrics = GatewayMetrics()
    let pools: GatewayPools
    let clients: UpstreamClients
    let traffic: GatewayTraffic
    let tokens: GatewayTokens
    let audit: AuditJournal
    let bodies: BodyBudget

    init(state: AgentState, vaultPool: NIOThreadPool, auditPool: NIOThreadPool, audit: AuditJournal, logger: Logger, settings: GatewaySettings, runTokens: RunTokens?) {
        self.state = state
        self.audit = audit
        self.vaultPool = vaultPool
        self.logger = logger
        self.settings = settings
        pools = GatewayPools(cache: state.cache, metrics: metrics)
        clients = UpstreamClients(settings: settings)
        traffic = GatewayTraffic(state: state, pool: auditPool, logger: logger)
        tokens = GatewayTokens(state: state, pool: vaultPool, runTokens: runTokens)
        bodies = BodyBudget(limit: settings.maxBodies)
    }

    /// The services the gateway runs beside the listeners: the traffic
    /// flusher and the upstream clients' shutdown.
    var services: [any Service] { [traffic, UpstreamClientsService(clients: clients)] }

    /// The scope a request uses: `x-keywarden-scope`, else the token's only
    /// scope, else (the owner) the gateway's default scope.
    func scope(of request: Request, caller: GatewayCaller) throws(GatewayRefusal) -> String {
        try scope(of: request.headers, caller: caller)
    }

    /// The same, from a request's fields (``FastForwarding`` has no `Request`).
    func scope(of fields: HTTPFields, caller: GatewayCaller) throws(GatewayRefusal) -> String {
        if let named = fields[Self.scopeField] {
            guard Names.isScope(named) else { throw GatewayRefusal(status: .badRequest, kind: "invalidInput", "x-keywarden-scope is not a valid scope name") }
            return named
        }
        if let token = caller.token, token.scopes.count == 1, let only = token.scopes.first { return only }
        if let scope = settings.defaultScope { return scope }
        throw GatewayRefusal(status: .badRequest, kind: "invalidInput",
                             "name the scope whose keys to use: send the x-keywarden-scope header, or start the agent with --gateway-scope")
    }

    static let scopeField = HTTPField.Name("x-keywarden-scope")!

    /// The pool serving `provider` for `scope` when it is held already and
    /// the agent is unlocked: what ``FastForwarding`` can use without
    /// waiting. nil otherwise (the slow path loads it).
    func heldPool(provider: String, scope: String, generation: Int) -> ServingPool? {
        guard state.current != nil else { return nil }
        return pools.held(provider: provider, scope: scope, generation: generation)
    }

    /// Forwards `request` for `caller` to `provider` (the path after
    /// `/{provider}` is `remainder`), answering the provider's answer or the
    /// gateway's own error. Never throws.
    func forward(_ request: Request, provider: String, remainder: String, caller: GatewayCaller, tokenInQuery: Bool) async -> Response {
        let arrived = NIODeadline.now()
        do {
            // TRACE echoes the request it got, the key included, back to the client; CONNECT asks
            // for a tunnel no provider API offers. Neither is forwarded.
            if request.method == .trace || request.method == .connect {
                throw GatewayRefusal(status: .methodNotAllowed, kind: "invalidInput", "the gateway does not forward \(request.method.rawValue) requests",
                                     final: true)
            }
            let scope = try scope(of: request, caller: caller)
            if let token = caller.token, !token.allows(provider: provider, scope: scope) {
                throw GatewayRefusal(status: .notFound, kind: "notFound", "not found, or not granted to this token")
            }
            guard let vault = state.current else { throw GatewayRefusal(status: HTTPResponse.Status(code: 423), kind: "locked", "the agent is locked") }
            let serving: ServingPool
            do {
                serving = try await pools.pool(provider: provider, scope: scope) {
                    try await self.vaultPool.runIfActive { try vault.gatewayPool(provider: provider, scope: scope) }
                }
            } catch let error as KeywardenError {
                // No active key: the provider is known, the pool empty (503); an unknown provider is 404.
                let status: HTTPResponse.Status = error.kind != .notFound ? .badGateway : error.message.hasPrefix("no active") ? .serviceUnavailable : .notFound
                throw GatewayRefusal(status: status, kind: "\(error.kind)", error.message)
            }
            let attempt = try await ForwardedRequest(gateway: self, request: request, serving: serving, remainder: remainder,
                                                     caller: caller, tokenInQuery: tokenInQuery, arrived: arrived)
            return await attempt.run()
        } catch let refusal as GatewayRefusal {
            metrics.keylessRequest(provider: BuiltinProviders.named(provider) == nil ? "other" : provider, outcome: refusal.outcome)
            return refusal.response
        } catch {
            metrics.keylessRequest(provider: BuiltinProviders.named(provider) == nil ? "other" : provider, outcome: .unexpected)
            return GatewayRefusal(status: .badGateway, kind: "failed", "the gateway could not forward the request: \(error)", outcome: .unexpected).response
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore
import Logging
import NIOCore
import ServiceLifecycle

/// Hummingbird's context for the gateway's TCP listener: nothing but the
/// connection (no router, no middleware: each request goes straight to the
/// gateway).
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The client's and the gateway's ports, to name the caller of a refused key (``TCPPeers``).
    let ports: (client: Int, server: Int)?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        if let client = source.channel.remoteAddress?.port, let server = source.channel.localAddress?.port {
            ports = (client, server)
        } else {
            ports = nil
        }
    }
}

/// The gateway on loopback TCP (`serve --gateway 127.0.0.1:PORT`), for
/// programs whose SDK takes a base URL: `/{provider}/…` mirrors the
/// provider's URL space. Every request needs a Keywarden token — the owner's
/// too, since any local user can reach a TCP port.
///
/// Browsers are refused: a request with an `Origin` header, or with a `Host`
/// that is not a loopback address or `localhost` (DNS rebinding), gets 403,
/// and no CORS header is ever sent.
struct GatewayResponder: HTTPResponder {
    typealias Context = GatewayRequestContext
    let gateway: Gateway

    func respond(to request: Request, context: GatewayRequestContext) async throws -> Response {
        let path = request.uri.path
        let rest = path.dropFirst()
        let provider = String(rest.prefix { $0 != "/" })
        guard path.hasPrefix("/"), Names.isProvider(provider) else {
            return refuse(GatewayRefusal(status: .notFound, kind: "notFound", "use /{provider}/…, e.g. /anthropic/v1/messages"), provider: "none")
        }
        if request.headers[HTTPField.Name("origin")!] != nil {
            return refuse(GatewayRefusal(status: .forbidden, kind: "denied", "the gateway does not answer browsers (a request with an Origin header)"), provider: provider)
        }
        if let host = request.head.authority, !Self.isLoopbackAuthority(host) {
            return refuse(GatewayRefusal(status: .forbidden, kind: "denied", "the gateway answers only requests addressed to a loopback host (Host: 127.0.0.1:PORT or localhost:PORT)"), provider: provider)
        }
        let credential: PresentedCredential
        do {
            guard let presented = try PresentedCredential.of(request) else {
                throw GatewayRefusal(status: .unauthorized, kind: "denied", "the gateway needs a Keywarden token where the SDK sends its key (Authorization: Bearer, x-api-key, x-goog-api-key or api-key)")
            }
            credential = presented
        } catch let refusal as GatewayRefusal {
            deny(provider: provider, detail: refusal.message)
            return refuse(refusal, provider: provider)
        }
        let token: AgentToken
        do {
            switch try await gateway.tokens.check(credential) {
            case .success(let valid): token = valid
            case .failure(let rejection):
                deny(provider: provider, detail: rejection.reason)
                return refuse(GatewayRefusal(status: .unauthorized, kind: "denied", rejection.reason), provider: provider)
            }
        } catch let error as KeywardenError {
            return refuse(GatewayRefusal(status: error.kind == .locked ? HTTPResponse.Status(code: 423) : .serviceUnavailable, kind: "\(error.kind)", error.message), provider: provider)
        }
        let caller = GatewayCaller(uid: 0, pid: 0, name: "gateway client, token '\(token.name)'", token: token, tcpPorts: context.ports)
        return await gateway.forward(request, provider: provider, remainder: String(rest.dropFirst(provider.count)), caller: caller, tokenInQuery: credential.inQuery)
    }

    private func refuse(_ refusal: GatewayRefusal, provider: String) -> Response {
        // Any path names a "provider": built-ins only, so a flood of made-up names makes no new series.
        gateway.metrics.keylessRequest(provider: BuiltinProviders.named(provider) == nil ? "other" : provider, outcome: .refused)
        return refusal.response
    }

    /// A refused caller is audited, as on the socket; the refusal serves
    /// nothing, so it does not wait for the event.
    private func deny(provider: String, detail: String) {
        gateway.audit.post(AuditDraft(action: "agent.deny", outcome: "denied", detail: "gateway (TCP): \(detail)",
                                      actor: AuditActor(uid: 0, pid: 0, name: "gateway client")))
    }

    /// `127.x.x.x[:port]`, `[::1][:port]` or `localhost[:port]`.
    static func isLoopbackAuthority(_ authority: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            host = host[host.index(after: host.startIndex)..<end]
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return host.lowercased() == "localhost" || LoopbackHost.contains(String(host))
    }
}

/// Builds the gateway's TCP application.
/// `services`: what runs beside it (tests pass the gateway's own; the agent
/// runs those in its outer group, see `runAgent`).
func buildGatewayApplication(_ gateway: Gateway, host: String, port: Int, logger: Logger, services: [any Service] = [],
                             onRunning: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
    Application(
        responder: GatewayResponder(gateway: gateway),
        server: .http1(configuration: .init(idleTimeout: .seconds(60))),
        configuration: .init(address: .hostname(host, port: port), serverName: "keywarden-gateway", backlog: 1024),
        services: services,
        onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
        logger: logger)
}

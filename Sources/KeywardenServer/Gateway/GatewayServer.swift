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
        ports = source.channel.peerPorts
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
    /// The `Server` field of every answer.
    static let serverName = "keywarden-gateway"

    /// What a request's head says before its token is checked: the
    /// provider, the path after it, and the credential.
    struct Admission {
        var provider: String
        var remainder: String
        var credential: PresentedCredential
    }

    /// Why a head is refused before its token is checked; `audited`: the
    /// refusal concerns the caller's credential and is audited as `agent.deny`.
    struct Refused: Error {
        var refusal: GatewayRefusal
        var provider: String
        var audited: Bool
    }

    /// The checks of a request's head, shared with ``FastForwarding``: path
    /// `/{provider}/…`, no `Origin`, a loopback `Host`, one Keywarden token.
    static func admit(path: String, query: String?, authority: String?, headers: HTTPFields) throws(Refused) -> Admission {
        let rest = path.dropFirst()
        let provider = String(rest.prefix { $0 != "/" })
        guard path.hasPrefix("/"), Names.isProvider(provider) else {
            throw Refused(refusal: GatewayRefusal(status: .notFound, kind: "notFound", "use /{provider}/…, e.g. /anthropic/v1/messages"), provider: "none", audited: false)
        }
        if headers[originField] != nil {
            throw Refused(refusal: GatewayRefusal(status: .forbidden, kind: "denied", "the gateway does not answer browsers (a request with an Origin header)"), provider: provider, audited: false)
        }
        if let host = authority, !isLoopbackAuthority(host) {
            throw Refused(refusal: GatewayRefusal(status: .forbidden, kind: "denied", "the gateway answers only requests addressed to a loopback host (Host: 127.0.0.1:PORT or localhost:PORT)"),
                          provider: provider, audited: false)
        }
        do throws(GatewayRefusal) {
            guard let presented = try PresentedCredential.of(headers: headers, query: query) else {
                throw GatewayRefusal(status: .unauthorized, kind: "denied", "the gateway needs a Keywarden token where the SDK sends its key (Authorization: Bearer, x-api-key, x-goog-api-key or api-key)")
            }
            return Admission(provider: provider, remainder: String(rest.dropFirst(provider.count)), credential: presented)
        } catch {
            throw Refused(refusal: error, provider: provider, audited: true)
        }
    }

    static let originField = HTTPField.Name("origin")!

    func respond(to request: Request, context: GatewayRequestContext) async throws -> Response {
        let admission: Admission
        do {
            admission = try Self.admit(path: request.uri.path, query: request.uri.query, authority: request.head.authority, headers: request.headers)
        } catch {
            if error.audited { deny(provider: error.provider, detail: error.refusal.message) }
            return refuse(error.refusal, provider: error.provider)
        }
        let (provider, credential) = (admission.provider, admission.credential)
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
        let caller = GatewayCaller.tcp(token: token, ports: context.ports)
        return await gateway.forward(request, provider: provider, remainder: admission.remainder, caller: caller, tokenInQuery: credential.inQuery)
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
        server: .gatewayHTTP1(configuration: .init(idleTimeout: gateway.settings.connectionIdleTimeout), gateway: gateway),
        configuration: .init(address: .hostname(host, port: port), serverName: GatewayResponder.serverName, backlog: 1024),
        services: services,
        onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
        logger: logger)
}

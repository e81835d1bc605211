import HTTPTypes
import Hummingbird
import KeywardenCore
import NIOCore

/// `/gw/{provider}/…` on the agent's socket: the gateway for programs on
/// this machine that talk to the socket. The caller was identified before
/// (``CallerMiddleware``: the owner needs no token; other users send one
/// where their SDK puts its key), so this only forwards. Every method, any
/// path below the provider: the provider's own URL space.
struct GatewayRoutes: RouterMiddleware {
    typealias Context = AgentRequestContext
    static let prefix = "/gw/"
    let gateway: Gateway

    func handle(_ request: Request, context: AgentRequestContext, next: (Request, AgentRequestContext) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix(Self.prefix) else { return try await next(request, context) }
        let rest = path.dropFirst(Self.prefix.count)
        let provider = String(rest.prefix { $0 != "/" })
        guard Names.isProvider(provider) else {
            return GatewayRefusal(status: .notFound, kind: "notFound", "use /gw/{provider}/… with a provider's name, e.g. /gw/anthropic/v1/messages").response
        }
        let caller = try context.caller
        let credential = try? PresentedCredential.of(request)
        let gatewayCaller = GatewayCaller(uid: caller.peer.uid, pid: caller.peer.pid,
                                          name: caller.token.map { "gateway client, token '\($0.name)'" } ?? "gateway client (socket)", token: caller.token)
        return await gateway.forward(request, provider: provider, remainder: String(rest.dropFirst(provider.count)), caller: gatewayCaller,
                                     tokenInQuery: credential?.inQuery ?? false)
    }
}

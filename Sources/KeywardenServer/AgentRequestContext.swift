import Hummingbird
import KeywardenCore
import NIOCore

/// Hummingbird's context plus the connection's channel, from which the
/// kernel's view of the peer (`SO_PEERCRED`) is read, and the caller that
/// ``CallerMiddleware`` identified from it before any route runs.
public struct AgentRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    /// Set by ``CallerMiddleware``; nil only on the anonymous `/v1/health`.
    var identifiedCaller: Caller?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Who is asking. Every route but `/v1/health` runs after the middleware
    /// identified the caller (or refused the request).
    var caller: Caller {
        get throws {
            guard let identifiedCaller else { throw AgentError(.forbidden, "the caller was not identified") }
            return identifiedCaller
        }
    }

    /// Requests are JSON documents (an import or a template at most);
    /// anything bigger is refused (413).
    public var maxUploadSize: Int { 128 * 1024 }
}

/// Identifies every request's caller before routing: the kernel's peer
/// credentials, and for other users a token, checked here so that no route
/// can forget it. A caller that cannot be identified is refused (403,
/// audited), except on `/v1/health`, which says only whether the agent is up.
struct CallerMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext
    let access: AccessControl

    func handle(_ request: Request, context: AgentRequestContext, next: (Request, AgentRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        do {
            context.identifiedCaller = try await access.caller(request, context)
        } catch {
            guard request.uri.path == "/v1/health" else { throw error }
        }
        return try await next(request, context)
    }
}

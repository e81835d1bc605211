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
            guard let identifiedCaller else { throw RequestRefused.forbidden("the caller was not identified") }
            return identifiedCaller
        }
    }

    /// Requests are small JSON documents; anything bigger is refused (413).
    /// The owner's API calls (`/v1/ops/…`) may carry what the CLI carries
    /// in-process — a value of up to 1 MiB, base64 in JSON, or an import —
    /// so ``CallerMiddleware`` raises the limit for them alone.
    public var maxUploadSize: Int { uploadLimit }
    var uploadLimit = Self.uploadLimit

    static let uploadLimit = 128 * 1024
    static let ownerOperationUploadLimit = 4 * 1024 * 1024
}

/// Identifies every request's caller before routing: the kernel's peer
/// credentials, and for other users a token, checked here so that no route
/// can forget it. A caller that cannot be identified is refused (403,
/// audited). Only `/v1/health`, which says whether the agent is up and
/// locked and nothing else, is answered without asking who is there.
struct CallerMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext
    static let anonymousPath = "/v1/health"
    let access: AccessControl

    func handle(_ request: Request, context: AgentRequestContext, next: (Request, AgentRequestContext) async throws -> Response) async throws -> Response {
        guard request.uri.path != Self.anonymousPath else { return try await next(request, context) }
        var context = context
        let caller = try await access.caller(request, context)
        context.identifiedCaller = caller
        if caller.isOwner, request.uri.path.hasPrefix("/v1/ops/") { context.uploadLimit = AgentRequestContext.ownerOperationUploadLimit }
        return try await next(request, context)
    }
}

/// Guards a group of routes that only the agent's owner (or root) may use:
/// a token is refused (403, audited) before the route runs, so a route added
/// to the group cannot forget the check.
struct OwnerOnlyMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext
    let access: AccessControl
    /// What the group does, for the refusal (`locking the agent`).
    let what: String

    func handle(_ request: Request, context: AgentRequestContext, next: (Request, AgentRequestContext) async throws -> Response) async throws -> Response {
        try access.requireOwner(try context.caller, what)
        return try await next(request, context)
    }
}

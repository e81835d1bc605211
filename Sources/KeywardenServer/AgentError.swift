import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore

/// An error the agent answers with: a status and `{"error": "…"}`. Messages
/// name what was wrong, never a secret.
public struct AgentError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = (try? JSONEncoder().encode(["error": message])) ?? Data(#"{"error":"error"}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static let locked = AgentError(.init(code: 423, reasonPhrase: "Locked"), "the vault is locked; restart the agent (`keywarden serve`) to unlock it")

    /// Values are served only once their audit event is durable; when it cannot
    /// be written, nothing is served.
    static func auditUnavailable(_ reason: String) -> AgentError {
        AgentError(.serviceUnavailable, "the audit trail cannot be written (\(reason)); the agent serves no value until it can")
    }

    /// A token's answer for anything outside its grant and for anything that
    /// does not exist: the same status and body, so a token cannot tell which
    /// scopes, providers, keys or config entries exist beyond what it may read.
    static let notFoundForToken = AgentError(.notFound, "not found, or not granted to this token")

    /// Maps a vault error to its HTTP form.
    static func from(_ error: KeywardenError) -> AgentError {
        switch error.kind {
        case .notFound: AgentError(.notFound, error.message)
        case .invalidInput: AgentError(.badRequest, error.message)
        case .conflict: AgentError(.conflict, error.message)
        case .locked: .locked
        case .integrity: AgentError(.internalServerError, error.message)
        case .validationFailed, .failed: AgentError(.internalServerError, error.message)
        }
    }
}

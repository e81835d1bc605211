import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore

/// Domain errors are answers, never a 500: each kind has its status, and the
/// body (`{"error", "kind"}`, a ``ServiceFailure``) carries the kind, so the
/// client throws the same error, with the same exit code, as the vault
/// in-process would have. Messages name what was wrong, never a secret.
extension KeywardenError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch kind {
        case .invalidInput: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .locked: .init(code: 423, reasonPhrase: "Locked")
        case .integrity: .init(code: 422, reasonPhrase: "Unprocessable Content")
        case .validationFailed: .init(code: 422, reasonPhrase: "Unprocessable Content")
        case .failed: .serviceUnavailable
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ServiceFailure(error: message, kind: kind).response(status: status)
    }
}

/// The agent's own answers among the domain errors.
extension KeywardenError {
    /// 423: the agent holds no unlocked vault (locked, or a locked agent's process).
    static let agentLocked = KeywardenError(.locked, "the vault is locked; restart the agent (`keywarden serve`) to unlock it")

    /// 503: values are served only once their audit event is durable
    /// (DESIGN.md, invariant 8); when it cannot be written, nothing is served.
    static func auditUnavailable(_ reason: String) -> KeywardenError {
        KeywardenError(.failed, "the audit trail cannot be written (\(reason)); the agent serves no value until it can")
    }

    /// A token's answer for anything outside its grant and for anything that
    /// does not exist: the same status and body, so a token cannot tell which
    /// scopes, providers, keys or config entries exist beyond what it may read.
    static let notFoundForToken = KeywardenError(.notFound, "not found, or not granted to this token")
}

/// A request refused before any operation ran: a caller the agent cannot
/// identify, or another user without a valid token or asking for an owner's
/// route (403), or a body over the upload limit (413). The body is
/// `{"error": "…"}` without a kind: it is no operation's answer.
struct RequestRefused: HTTPResponseError, CustomStringConvertible {
    let status: HTTPResponse.Status
    let message: String

    static func forbidden(_ message: String) -> RequestRefused {
        RequestRefused(status: .forbidden, message: message)
    }

    static func tooLarge(limit: Int) -> RequestRefused {
        RequestRefused(status: .contentTooLarge, message: "the request body is larger than the agent accepts (\(limit / 1024) KiB)")
    }

    var description: String { message }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        ServiceFailure(error: message, kind: nil).response(status: status)
    }
}

extension ServiceFailure {
    /// The JSON answer for this failure.
    /// Keys sorted: two equal failures are the same bytes (a token's "not
    /// granted" and "not found" must not differ even in their order).
    func response(status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// The answer's bytes.
    var body: ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return ByteBuffer(bytes: (try? encoder.encode(self)) ?? Data(#"{"error":"error"}"#.utf8))
    }
}

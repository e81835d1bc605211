import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore
import NIOPosix

/// The Keywarden API over the agent's socket: `POST /v1/ops/{name}` for every
/// operation in ``ServiceOperations/all``, each a thin adapter that decodes
/// the operation, runs it on the agent's vault for the caller, and encodes
/// the answer. Owner only: tokens read values through the documented
/// `/v1/keys`, `/v1/env` and `/v1/names` routes.
struct ServiceRoutes: Sendable {
    let state: AgentState
    let access: AccessControl
    let audit: AuditJournal
    /// Where vault work runs, off the Swift concurrency pool.
    let pool: NIOThreadPool

    func add(to router: Router<AgentRequestContext>) {
        for operation in ServiceOperations.all { register(operation, on: router) }
    }

    private func register<Operation: ServiceOperation>(_: Operation.Type, on router: Router<AgentRequestContext>) {
        router.post("/v1/ops/\(Operation.name)") { request, context -> Response in
            let caller = try context.caller
            try await access.requireOwner(caller, "the Keywarden API (\(Operation.name))")
            let operation: Operation
            do {
                operation = try await request.decode(as: Operation.self, context: context)
            } catch {
                throw KeywardenError(.invalidInput, "the request for \(Operation.name) is not valid JSON for it")
            }
            guard let vault = state.current else { throw AgentError.locked }
            let service = LocalService(vault: vault, caller: ServiceCaller(actor: caller.actor(command: request.headers[.keywardenCommand])),
                                       executor: .pool(pool), agent: controls(for: caller))
            let answer = try await service.perform(operation)
            // Locked meanwhile: nothing leaves, as for the other routes.
            guard !state.isLocked else { throw AgentError.locked }
            return try JSONResponse.make(answer)
        }
    }

    private func controls(for caller: Caller) -> AgentControls {
        AgentControls(lock: { [state, audit] in
            if !state.isLocked {
                // Locking is the safe direction: it happens even if the event cannot be written.
                try? await audit.record(AuditDraft(action: "agent.lock", outcome: "ok",
                                                   detail: "locked by uid \(caller.peer.uid), pid \(caller.peer.pid); the agent restarts locked",
                                                   actor: caller.actor))
            }
            state.lock()
        })
    }
}

/// JSON answers, with the field order stable for readers and tests.
enum JSONResponse {
    static func make(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

extension HTTPField.Name {
    /// The CLI command a request comes from, for the audit trail.
    static let keywardenCommand = HTTPField.Name("x-keywarden-command")!
}

/// Domain errors are answers, never a 500: each kind has its status, and the
/// body carries the kind so the client throws the same error.
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
        let body = (try? JSONEncoder().encode(ServiceFailure(error: message, kind: kind))) ?? Data(#"{"error":"error"}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

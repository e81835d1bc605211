import Foundation
import KeywardenCore
import NIOCore
import NIOHTTP1
import NIOFoundationCompat
import KeywardenLaunch

/// ``KeywardenService`` through the agent: each operation is
/// `POST /v1/ops/{name}` with the operation as its JSON body, answered with
/// the operation's `Response` as JSON, or `{"error", "kind"}` and a 4xx/5xx
/// status, thrown here as the same ``KeywardenError`` the vault would have
/// thrown in-process. The agent records the caller's uid and pid from the
/// kernel and the command from `X-Keywarden-Command`.
public final class AgentService: KeywardenService {
    let connection: AgentConnection
    /// The command for the audit trail (`keywarden key list`): names only, never arguments.
    let command: String

    init(connection: AgentConnection, command: String) {
        self.connection = connection
        self.command = command
    }

    public var endpoint: ServiceEndpoint { .agent(socket: connection.path) }

    /// The process serving this connection, from the kernel (`SO_PEERCRED`).
    public var peer: AgentPeer { connection.peer }

    public func perform<Operation: ServiceOperation>(_ operation: Operation) async throws -> Operation.Response {
        // The request may hold values or passphrases: the encoder's bytes
        // and the buffer sent are both wiped.
        var encoded = try JSONEncoder().encode(operation)
        let body = ByteBuffer(bytes: encoded)
        encoded.resetBytes(in: 0..<encoded.count)
        defer { body.wipeReadableBytes() }
        let answer = try connection.request(.POST, "/v1/ops/\(Operation.name)", body: body, headers: [("X-Keywarden-Command", command)])
        // The answer may hold values: wiped once decoded.
        defer { answer.body.wipeReadableBytes() }
        guard answer.status == 200 else { throw Self.error(from: answer) }
        do {
            return try JSONDecoder().decode(Operation.Response.self, from: answer.body)
        } catch {
            // Not the decoder's own text: it may quote the answer, which can hold a value.
            throw KeywardenError(.failed, HTTPExchange.Failure.unknownAnswer(to: Operation.name))
        }
    }

    /// The agent's `/v1/health`, or nil when it does not answer (as while it restarts).
    public func health() async -> AgentHealth? {
        guard let answer = try? connection.request(.GET, "/v1/health"), answer.status == 200 else { return nil }
        return try? JSONDecoder().decode(AgentHealth.self, from: answer.body)
    }

    static func error(from answer: AgentConnection.Answer) -> KeywardenError {
        if let failure = try? JSONDecoder().decode(ServiceFailure.self, from: answer.body) {
            return KeywardenError(failure.kind ?? kind(forStatus: answer.status), failure.error)
        }
        return KeywardenError(kind(forStatus: answer.status), "the agent answered HTTP \(answer.status)")
    }

    static func kind(forStatus status: Int) -> KeywardenError.Kind {
        switch status {
        case 400, 413, 422: .invalidInput
        case 404: .notFound
        case 409: .conflict
        case 403, 423: .locked
        default: .failed
        }
    }
}

/// The process listening at the agent's socket, as the kernel reports it.
public struct AgentPeer: Sendable, Equatable {
    public var uid: UInt32
    public var pid: Int32
}

/// The part of `/v1/health` clients read.
public struct AgentHealth: Codable, Sendable {
    public var locked: Bool
    public var startedAt: String?
    public var version: String?
    enum CodingKeys: String, CodingKey { case locked, startedAt = "started_at", version }
}

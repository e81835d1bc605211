/// The Keywarden API: every operation the CLI performs, as one `Sendable`
/// protocol with two implementations that behave the same —
/// ``LocalService`` (an unlocked vault in this process) and the agent client
/// (`KeywardenClient.AgentService`, the same operations over the agent's
/// Unix socket). Commands are written against this protocol only, so none of
/// them knows or cares which one it got.
///
/// Each operation is one ``ServiceOperation`` value: its request fields, its
/// `Response` type and its in-process implementation live together in
/// `Service/Operations/`, with a named method on this protocol (for example
/// ``KeywardenService/listKeys(_:)``). Both transports are generic over
/// operations, so adding one needs no change to the agent or its client.
public protocol KeywardenService: Sendable {
    /// Performs `operation` and returns its answer, or throws a
    /// ``KeywardenError`` whose kind picks the exit code.
    func perform<Operation: ServiceOperation>(_ operation: Operation) async throws -> Operation.Response

    /// Where the operations run, for messages and `status`.
    var endpoint: ServiceEndpoint { get }
}

/// Where a ``KeywardenService`` runs.
public enum ServiceEndpoint: Sendable, Equatable {
    /// The vault, unlocked in this process.
    case inProcess(vaultPath: String)
    /// The agent listening at this socket, which holds the only unlocked vault.
    case agent(socket: String)
}

/// One operation of the API. The value is the request (its fields are the
/// JSON body the agent receives at `POST /v1/ops/{name}`); `Response` is the
/// answer. `run(in:)` is the in-process implementation, used directly by
/// ``LocalService`` and by the agent for its clients.
public protocol ServiceOperation: Codable, Sendable {
    associatedtype Response: Codable & Sendable
    /// A stable name, `area.verb` (`keys.list`): the agent's route and the audit's vocabulary.
    static var name: String { get }
    /// Runs against an unlocked vault.
    func run(in session: ServiceSession) async throws -> Response
}

/// An operation without an answer.
public struct Done: Codable, Sendable, Equatable {
    public init() {}
}

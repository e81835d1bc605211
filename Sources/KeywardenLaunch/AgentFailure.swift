/// An operation the agent refused, as the command line reports it: the
/// agent's message and the exit code of its kind (docs/commands.md). The
/// full command line turns the same answer into a `KeywardenError`
/// (`AgentService.error(from:)`); `AgentFailureTests` checks both agree.
public struct AgentFailure: Sendable, Equatable {
    public var message: String
    public var exitCode: Int32

    /// From the answer's status and body (`{"error", "kind"}`).
    public init(status: Int, body: UnsafeRawBufferPointer) {
        if let document = AgentAnswers.failure(body), let code = document.kind.map(Self.exitCode(kind:)) ?? Self.exitCode(status: status) {
            (message, exitCode) = (document.message, code)
        } else {
            (message, exitCode) = ("the agent answered HTTP \(status)", Self.exitCode(status: status) ?? 1)
        }
    }

    /// The exit code of an error kind (`KeywardenError.Kind`'s raw value); nil for an unknown kind.
    public static func exitCode(kind: String) -> Int32? {
        switch kind {
        case "failed": 1
        case "invalidInput", "notFound", "conflict": 2
        case "locked": 3
        case "integrity": 4
        case "validationFailed": 5
        default: nil
        }
    }

    /// The exit code for an answer without a kind, by its status.
    static func exitCode(status: Int) -> Int32? {
        switch status {
        case 400, 413, 422, 404, 409: 2
        case 403, 423: 3
        default: 1
        }
    }
}

import ArgumentParser
import KeywardenCore

/// What a command works with and a test may swap, in the manner of swiftly's
/// `SwiftlyCoreContext`: the environment, where output goes, where secret
/// input comes from, and the clock. Commands implement
/// `run(_ context: CLIContext)`; ``KeywardenCommand`` supplies the live one.
struct CLIContext: Sendable {
    var environment: [String: String]
    var output: Output
    var input: SecretInput
    var clock: @Sendable () -> Timestamp

    /// The real process: its environment, stdout and stderr, stdin and the terminal.
    static func live() -> CLIContext {
        CLIContext(environment: ProcessInfoEnvironment.current, output: Output(), input: SecretInput(), clock: Timestamp.now)
    }
}

/// A subcommand that runs with a ``CLIContext``.
protocol KeywardenCommand: AsyncParsableCommand {
    func run(_ context: CLIContext) async throws
}

extension KeywardenCommand {
    func run() async throws {
        try await run(.live())
    }
}

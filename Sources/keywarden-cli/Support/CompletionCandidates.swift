import ArgumentParser
import Dispatch
import KeywardenClient
import KeywardenCore

/// What a Tab completes to, for the arguments that name things in the vault.
/// The shell runs `keywarden ---completion …` at each Tab, so a candidate list
/// must come back fast and must never ask for anything: it is read from a
/// running agent, or from the vault when a keyfile unlocks it. A passphrase
/// (prompted, or `KEYWARDEN_PASSPHRASE`, whose Argon2id costs a second) is
/// never used, and any failure completes to nothing rather than printing an
/// error into the user's command line. Names only: no value, hint or
/// fingerprint is ever a candidate.
enum CompletionCandidates {
    /// Scope names.
    static let scopes: CompletionKind = .custom { _, _, prefix in
        matching(prefix) { try await $0.perform(Scopes.List()).map(\.name) }
    }

    /// Provider names: the built-ins without a vault, with the custom ones when it opens.
    static let providers: CompletionKind = .custom { _, _, prefix in
        let names = fromVault { try await $0.perform(Providers.List()).map(\.definition.name) }
        return filter(names ?? BuiltinProviders.all.map(\.name), prefix)
    }

    /// Key ids.
    static let keyIDs: CompletionKind = .custom { _, _, prefix in
        matching(prefix) { try await $0.perform(Keys.List(KeyFilter())).map(\.id) }
    }

    private static func matching(_ prefix: String, _ body: @escaping @Sendable (any KeywardenService) async throws -> [String]) -> [String] {
        filter(fromVault(body) ?? [], prefix)
    }

    private static func filter(_ names: [String], _ prefix: String) -> [String] {
        Array(Set(names)).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// `body`'s answer from the agent or the keyfile-unlocked vault; nil when
    /// neither is at hand or it takes more than a second. Completion runs
    /// during argument parsing, which is synchronous: the lookup runs as a
    /// task and this thread waits for it.
    private static func fromVault(_ body: @escaping @Sendable (any KeywardenService) async throws -> [String]) -> [String]? {
        var environment = ProcessInfoEnvironment.current
        environment.removeValue(forKey: "KEYWARDEN_PASSPHRASE")
        var input = SecretInput()
        input.promptHidden = { _ in nil }
        input.stdinIsTerminal = { false }
        let context = CLIContext(environment: environment, output: Output(), input: input, clock: Timestamp.now)
        let result = CompletionResult()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            // Warnings (e.g. an agent failing a trust check) are not shown at a Tab.
            var quiet = context
            quiet.output = Output(standardOutput: { _ in }, standardError: { _ in })
            let options = try? VaultOptions.parse([])
            let service = if let options { try? await Session.service(quiet, options, command: "completion") } else { nil as (any KeywardenService)? }
            if let service { result.names = try? await body(service) }
            done.signal()
        }
        // A Tab must never freeze the shell: an agent that is stopped or a
        // database that does not answer completes to nothing after a second.
        guard done.wait(timeout: .now() + .seconds(1)) == .success else { return nil }
        return result.names
    }
}

/// The lookup's answer, handed from its task to the waiting thread. The
/// semaphore orders the write before the read; a lookup that outlives the
/// wait writes to a box nobody reads again (the process exits at once).
private final class CompletionResult: @unchecked Sendable {
    var names: [String]?
}

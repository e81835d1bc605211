#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import KeywardenClient
import KeywardenCore
import KeywardenLaunch

struct Run: KeywardenCommand, Sendable {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command with a scope's keys and config in its environment (nothing is written to disk).",
        discussion: """
        keywarden replaces itself with the command (exec), so its exit status and signals are the
        command's own. Values travel in the environment only, never in argv. --env-file takes a
        dotenv file whose values may be references: `OPENAI_API_KEY=kw://prod/OPENAI_API_KEY` or
        `URL=https://x/{{ kw://prod/TOKEN }}`.

        With --gateway the command gets no provider key: each provider's key variable holds a
        short-lived Keywarden token and its SDK's base-URL variable (ANTHROPIC_BASE_URL,
        OPENAI_BASE_URL, …; KEYWARDEN_GATEWAY_<PROVIDER> where the SDK has none) points at the
        agent's gateway, which adds the real key. The token works only there, and only until the
        command exits or --ttl passes. It needs an agent started with `keywarden serve --gateway`.
        This keeps keys out of environment dumps, logs and child processes; the command still runs
        as you and can reach the agent's socket, so it is no barrier against a hostile program.

        With --mask, keywarden stays as the command's parent and replaces each value of a key or
        secret config entry it delivered with *** wherever it appears in the command's stdout or
        stderr (values under 4 bytes excepted). When stdout is a terminal the command writes to a
        pseudo-terminal, so it still sees one. Exit status and signals still pass through. Masking
        is not the default: without it the command replaces keywarden (exec) and its output is
        untouched. See docs/run.md.

        Exit codes besides the command's: 126 not executable, 127 command not found.

        Examples:
          keywarden run --scope prod -- python app.py
          keywarden run --scope dev --only ANTHROPIC_API_KEY -- claude
          keywarden run --scope prod --clean -- env
          keywarden run --scope prod --mask -- ./deploy.sh
          keywarden run --env-file .env.tpl -- node server.js
          keywarden run --gateway --scope prod -- python app.py
          keywarden run --gateway --scope dev --only anthropic --ttl 1h -- claude
        """
    )

    @OptionGroup var vault: VaultOptions
    @Option(help: "The scope whose variables to add.", completion: CompletionCandidates.scopes) var scope: String?
    @Option(help: ArgumentHelp("Only these variables (comma-separated); with --gateway, only these providers.", valueName: "NAME,…")) var only: String?
    @Flag(help: "Send provider requests through the agent's gateway: the command gets base URLs and a short-lived token, not keys.")
    var gateway = false
    @Option(help: ArgumentHelp("With --gateway: the token's lifetime at most (default 12h); it ends anyway when the command exits.", valueName: "duration"))
    var ttl: String?
    @Flag(help: "Start from an empty environment (only PATH and HOME are kept).") var clean = false
    @Option(help: ArgumentHelp("A dotenv file whose values may be kw:// references.", valueName: "template")) var envFile: String?
    @Flag(help: "Replace the delivered keys and secret values with *** in the command's stdout and stderr.") var mask = false
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command to run after --, e.g. keywarden run --scope prod -- python app.py") }
        if scope == nil && envFile == nil { throw ValidationError("give --scope S, --env-file FILE, or both") }
        if gateway {
            if scope == nil { throw ValidationError("--gateway needs --scope S: the scope whose keys the gateway uses") }
            if envFile != nil { throw ValidationError("--gateway and --env-file do not go together: a template's kw:// references would put values in the environment") }
        } else if ttl != nil {
            throw ValidationError("--ttl goes with --gateway (the lifetime of the command's gateway token)")
        }
    }

    func run(_ context: CLIContext) async throws {
        // Before anything is opened: the command inherits these descriptors only.
        let inherited = InheritedDescriptors.current()
        // The command is found with the caller's PATH, before any of the
        // scope's variables (which may hold a PATH of their own) are set.
        let executable: String
        do { executable = try CommandStart.resolve(command[0], path: context.environment["PATH"]) } catch { throw CommandFailure(code: error.code, message: error.message) }
        var variables: [EnvironmentVariable] = []
        var fromTemplate: [EnvironmentVariable] = []
        // Each value a template referenced, on its own: a rendered line may
        // hold one among other text, and the command can print it alone.
        var templateValues: [Secret] = []
        var unset: [String] = []
        // Plain config entries (shown in listings anyway) are not masked.
        var plainNames: Set<String> = []
        if gateway, let scope {
            (variables, unset) = try await gatewayEnvironment(context, scope: scope)
        } else {
            let service = try await Session.service(context, vault, command: "run")
            let destination = "command \(CommandStart.programName(command[0]))"
            if let scope {
                variables = try await service.environment(scope: scope, only: RequestedVariables.parse(only: only), action: .run, destination: destination)
                if mask {
                    let entries = try await service.listConfig(scope: scope)
                    let secretNames = Set(entries.filter(\.secret).map(\.name))
                    plainNames = Set(entries.map(\.name)).subtracting(secretNames)
                }
            }
            if let envFile {
                (fromTemplate, templateValues) = try await TemplateDelivery.environmentFileWithValues(InputFile.read(envFile, input: context.input), path: envFile,
                                                                                                     service: service, action: .run, destination: destination)
            }
        }
        if clean { CommandStart.clearEnvironmentKeepingPathAndHome() }
        // Keywarden's own credentials unlock the whole vault; the command gets
        // only what the scope gives it (a scope may still define one of these
        // names on purpose, which is set below).
        CommandStart.removeOwnCredentials()
        // With --gateway: every provider key the parent had, so only the token is left.
        for name in unset { unsetenv(name) }
        for variable in variables + fromTemplate { variable.value.withUnsafeBytes { CommandStart.setVariable(variable.name, bytes: $0) } }
        inherited.closeOthersOnExec()
        if mask {
            // keywarden stays non-dumpable with a core limit of 0; the child
            // gets the core limit back (MaskedRun restores it around the spawn only).
            fflush(nil)
            let values = variables.filter { !plainNames.contains($0.name) }.map(\.value) + fromTemplate.map(\.value) + templateValues
            try MaskedRun.run(executable: executable, arguments: command, masking: values)
        }
        let failure = CommandStart.exec(executable, arguments: command)
        throw CommandFailure(code: failure.code, message: failure.message)
    }

    /// `--gateway`: a run token from the agent and the environment that goes
    /// with it, plus the variables to remove. The agent binds the token to
    /// this process, which becomes the command by `execv`. There is no
    /// in-process fallback (only the agent has a gateway), so the vault is
    /// not unlocked here when no agent answers.
    func gatewayEnvironment(_ context: CLIContext, scope: String) async throws -> (variables: [EnvironmentVariable], unset: [String]) {
        let ttl = try self.ttl.map { text throws(KeywardenError) in
            try DurationSpec(option: "ttl", text, examples: "30m, 12h or 7d", range: AgentControl.GatewayToken.ttlRange)
        }
        let providers = try Self.providerNames(only: only)
        guard let agent = await AgentConnector.connect(environment: context.environment, command: "keywarden run", forceDirect: vault.keyfile != nil,
                                                       warn: { context.output.error("keywarden: \($0)") }) else {
            throw KeywardenError.gatewayNeedsAgent
        }
        let answer = try await agent.gatewayToken(scope: scope, providers: providers, ttl: ttl, program: CommandStart.programName(command[0]))
        // Whatever answers at the socket must not choose the child's loader
        // (as for a plain `run`) nor slip in a name setenv would mangle.
        let names = Array(answer.variables.keys)
        if let bad = (names + answer.unset).first(where: { !Names.isEnvironmentVariable($0) }) {
            throw KeywardenError(.failed, "the agent sent an invalid variable name '\(bad.prefix(80))'; nothing was used")
        }
        try RequestedVariables.check(names, only: nil)
        return (answer.variables.map { EnvironmentVariable(name: $0.key, value: $0.value) }.sorted { $0.name < $1.name }, answer.unset)
    }

    /// The provider names of `--only` with `--gateway`, or nil without it.
    static func providerNames(only text: String?) throws(KeywardenError) -> [String]? {
        guard let text else { return nil }
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw KeywardenError(.invalidInput, "--only needs at least one provider name") }
        if let bad = names.first(where: { !Names.isProvider($0) }) {
            throw KeywardenError(.invalidInput, "invalid provider name '\(bad)' in --only: with --gateway, --only takes provider names (anthropic,openai)")
        }
        return names
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import KeywardenClient
import KeywardenCore
import Logging

/// Options shared by every command that opens the vault.
struct VaultOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: ArgumentHelp("Unlock with this keyfile (default: $KEYWARDEN_KEYFILE).", valueName: "path"))
    var keyfile: String?
    @Option(name: .long, help: ArgumentHelp("The vault's PostgreSQL database, postgres://USER@HOST/DB (default: $KEYWARDEN_DATABASE_URL, else the vault file). No password here: use KEYWARDEN_DATABASE_PASSWORD.", valueName: "url"))
    var database: String?
}

/// Opens and unlocks the vault for one command. Unlock order: `--keyfile` or
/// `KEYWARDEN_KEYFILE`, then `KEYWARDEN_PASSPHRASE`, then a no-echo prompt on
/// the terminal.
enum Session {
    /// The vault's context for `command`: who acts, the log level, where the
    /// audit head is anchored, and the context's clock.
    static func context(_ context: CLIContext, command: String, anchorInterval: Duration? = nil) -> VaultContext {
        let environment = context.environment
        var logger = Logger(label: "keywarden")
        logger.logLevel = environment["KEYWARDEN_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return VaultContext(actor: .currentProcess(name: "keywarden \(command)"), clock: context.clock, logger: logger,
                            anchorDirectory: AuditAnchor.defaultDirectory(environment: environment), anchorInterval: anchorInterval)
    }

    /// The Keywarden API for one command — the only place that chooses
    /// between the agent and the vault in-process. A running, trusted,
    /// unlocked agent is used (no keyfile, no passphrase); `--keyfile` or
    /// `KEYWARDEN_NO_AGENT=1` force the vault in-process, and so does an agent
    /// that fails a trust check (with a warning naming the reason).
    static func service(_ context: CLIContext, _ options: VaultOptions, command: String) async throws -> any KeywardenService {
        if let agent = await AgentConnector.connect(environment: context.environment, command: "keywarden \(command)",
                                                    forceDirect: options.keyfile != nil || options.database != nil, warn: { context.output.error("keywarden: \($0)") }) {
            return agent
        }
        let vault = try open(context, options, command: command)
        return LocalService(vault: vault, caller: ServiceCaller(actor: .currentProcess(name: "keywarden \(command)")))
    }

    /// Opens and unlocks the vault in this process (`--keyfile`, the environment, or a prompt).
    static func open(_ context: CLIContext, _ options: VaultOptions, command: String, anchorInterval: Duration? = nil) throws(KeywardenError) -> Vault {
        let opened = try VaultAddress.resolve(environment: context.environment, database: options.database).open()
        let credential = try credential(options, environment: context.environment, prompt: context.input.promptHidden)
        return try Vault.unlock(opened, with: credential, context: Self.context(context, command: command, anchorInterval: anchorInterval))
    }

    static func credential(_ options: VaultOptions, environment: [String: String], prompt: (String) -> Secret?) throws(KeywardenError) -> UnlockCredential {
        if let path = options.keyfile ?? environment["KEYWARDEN_KEYFILE"], !path.isEmpty {
            return .keyfile(path: path)
        }
        if let passphrase = environment["KEYWARDEN_PASSPHRASE"] {
            return .passphrase(Secrets.secret(copying: Array(passphrase.utf8)))
        }
        if let typed = prompt("Vault passphrase: ") {
            return .passphrase(typed)
        }
        throw KeywardenError(.locked, KeywardenError.unlockPrefix + "no keyfile or passphrase given: pass --keyfile PATH, set KEYWARDEN_KEYFILE or KEYWARDEN_PASSPHRASE, or run in a terminal to type the passphrase")
    }
}

/// The process environment as a dictionary.
enum ProcessInfoEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}

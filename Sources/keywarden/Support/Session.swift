#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import KeywardenClient
import KeywardenCore
import KeywardenCrypto
import Logging

/// Options shared by every command that opens the vault.
struct VaultOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Unlock with this keyfile (default: $KEYWARDEN_KEYFILE).", valueName: "path"))
    var keyfile: String?
}

/// Opens and unlocks the vault for one command. Unlock order: `--keyfile` or
/// `KEYWARDEN_KEYFILE`, then `KEYWARDEN_PASSPHRASE`, then a no-echo prompt on
/// the terminal.
enum Session {
    static var environment: [String: String] { ProcessInfoEnvironment.current }

    static func context(command: String, anchorInterval: Duration? = nil) -> VaultContext {
        var logger = Logger(label: "keywarden")
        logger.logLevel = environment["KEYWARDEN_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return VaultContext(actor: .currentProcess(name: "keywarden \(command)"), logger: logger,
                            anchorDirectory: AuditAnchor.defaultDirectory(environment: environment), anchorInterval: anchorInterval)
    }

    static func location() throws(KeywardenError) -> VaultLocation {
        try VaultLocation.resolve(environment: environment)
    }

    /// The Keywarden API for one command — the only place that chooses
    /// between the agent and the vault in-process. A running, trusted,
    /// unlocked agent is used (no keyfile, no passphrase); `--keyfile` or
    /// `KEYWARDEN_NO_AGENT=1` force the vault in-process, and so does an agent
    /// that fails a trust check (with a warning naming the reason).
    static func service(_ context: CLIContext, _ options: VaultOptions, command: String) async throws -> any KeywardenService {
        if let agent = await AgentConnector.connect(environment: context.environment, command: "keywarden \(command)",
                                                    forceDirect: options.keyfile != nil, warn: { context.output.error("keywarden: \($0)") }) {
            return agent
        }
        let vault = try open(context, options, command: command)
        return LocalService(vault: vault, caller: ServiceCaller(actor: .currentProcess(name: "keywarden \(command)")))
    }

    /// Opens and unlocks the vault in this process (`--keyfile`, the environment, or a prompt).
    static func open(_ context: CLIContext, _ options: VaultOptions, command: String, anchorInterval: Duration? = nil) throws(KeywardenError) -> Vault {
        let database = try VaultDatabase.open(at: VaultLocation.resolve(environment: context.environment))
        let credential = try credential(options, environment: context.environment, prompt: context.input.promptHidden)
        var vaultContext = Self.context(command: command, anchorInterval: anchorInterval)
        vaultContext.clock = context.clock
        return try Vault.unlock(database, with: credential, context: vaultContext)
    }

    static func open(_ options: VaultOptions, command: String, anchorInterval: Duration? = nil) throws(KeywardenError) -> Vault {
        let database = try VaultDatabase.open(at: location())
        let credential = try credential(options)
        return try Vault.unlock(database, with: credential, context: context(command: command, anchorInterval: anchorInterval))
    }

    static func credential(_ options: VaultOptions) throws(KeywardenError) -> UnlockCredential {
        try credential(options, environment: environment, prompt: { SecretInput.readHidden(prompt: $0) })
    }

    static func credential(_ options: VaultOptions, environment: [String: String], prompt: (String) -> SecureBytes?) throws(KeywardenError) -> UnlockCredential {
        if let path = options.keyfile ?? environment["KEYWARDEN_KEYFILE"], !path.isEmpty {
            return .keyfile(path: path)
        }
        if let passphrase = environment["KEYWARDEN_PASSPHRASE"] {
            return .passphrase(SecureBytes(copying: Array(passphrase.utf8)))
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

/// Argon2id cost levels for `--kdf`.
enum KDFLevel: String, ExpressibleByArgument, CaseIterable {
    case interactive, moderate, sensitive

    var parameters: PasswordHashParameters {
        switch self {
        case .interactive: .interactive
        case .moderate: .moderate
        case .sensitive: .sensitive
        }
    }
}

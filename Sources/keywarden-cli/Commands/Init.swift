import ArgumentParser
import KeywardenCore

struct Init: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new vault.",
        discussion: """
        The vault gets a random master key, wrapped in a keyfile slot (--keyfile: a new file of
        32 random bytes, mode 0600) and/or a passphrase slot (KEYWARDEN_PASSPHRASE, or a prompt).

        Examples:
          keywarden init --keyfile ~/.config/keywarden/vault.key
          KEYWARDEN_PASSPHRASE=… keywarden init --kdf interactive
          keywarden init                     # prompts for a passphrase
          keywarden init --keyfile /etc/keywarden/host.key \\
              --database postgres://kw@db.internal/keywarden

        With --database (or KEYWARDEN_DATABASE_URL) the vault is created in an empty PostgreSQL
        database that many hosts share; each host then unlocks with a keyslot of its own
        (`keyslot add --for HOST`).
        """
    )

    @Option(help: ArgumentHelp("Create a keyfile slot; writes a new keyfile here (never overwrites).", valueName: "path"))
    var keyfile: String?

    @Option(help: "Argon2id cost for the passphrase slot: interactive (64 MiB), moderate (256 MiB), sensitive (1 GiB).")
    var kdf: KDFCost = .moderate

    @Option(name: .customLong("scope"), help: ArgumentHelp("Scopes to create (repeatable).", valueName: "name"))
    var scopes: [String] = ["dev", "staging", "prod"]

    @Option(help: ArgumentHelp("Create the vault in this empty PostgreSQL database instead of a file (default: $KEYWARDEN_DATABASE_URL).", valueName: "url"))
    var database: String?

    /// Creating the vault is the one thing no agent can do for you: it runs in this process.
    func run(_ context: CLIContext) async throws {
        let environment = context.environment
        let address = try VaultAddress.resolve(environment: environment, database: database)
        if case .file(let location) = address, location.exists {
            throw KeywardenError(.conflict, "a vault already exists at \(location.databasePath); nothing was changed")
        }
        for scope in scopes where !Names.isScope(scope) {
            throw KeywardenError(.invalidInput, "invalid scope '\(scope)': use lower-case letters, digits, '.', '_' and '-', with '/' between parts")
        }
        var slots: [NewKeyslot] = []
        if let keyfile { slots.append(.keyfile(path: keyfile)) }
        if let passphrase = environment["KEYWARDEN_PASSPHRASE"] {
            guard !passphrase.isEmpty else { throw KeywardenError(.invalidInput, "KEYWARDEN_PASSPHRASE is set but empty") }
            slots.append(.passphrase(Secrets.secret(copying: passphrase.utf8), cost: kdf))
        } else if keyfile == nil {
            slots.append(.passphrase(try context.input.newPassphrase(envVar: "KEYWARDEN_PASSPHRASE", environment: environment), cost: kdf))
        }
        let vault = try Vault.create(in: address, slots: slots, scopes: scopes, context: Session.context(context, command: "init"))
        let output = context.output
        output.line("Created vault \(vault.vaultID) at \(address.shown)")
        for slot in try vault.listKeyslots() {
            output.line("  keyslot \(slot.id): \(slot.kind)\(slot.kind == "keyfile" ? " (\(keyfile ?? ""))" : " (\(slot.kdf ?? ""))")")
        }
        output.line("  scopes: \(scopes.joined(separator: ", "))")
        output.line()
        output.line("Next:")
        if case .postgres(let url) = address, database != nil { output.line("  export KEYWARDEN_DATABASE_URL=\(url.redacted)") }
        if let keyfile { output.line("  export KEYWARDEN_KEYFILE=\(keyfile)") }
        // The hint must name a scope this vault has: `--scope ci --scope live` has no dev.
        if let scope = scopes.first {
            output.line("  keywarden key add anthropic --scope \(scope)     # paste the key; it is never taken from argv")
        }
        output.line("  keywarden key list")
    }
}

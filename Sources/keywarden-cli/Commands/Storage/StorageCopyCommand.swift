import ArgumentParser
import KeywardenCore

struct StorageCopyCommand: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy the vault file into an empty PostgreSQL database, ciphertexts and audit chain untouched.",
        discussion: """
        The source is the vault file (KEYWARDEN_HOME, else ~/.local/share/keywarden),
        unlocked as usual (--keyfile, KEYWARDEN_KEYFILE, KEYWARDEN_PASSPHRASE or the
        prompt); it is only read. Its audit chain must verify first: a broken chain
        is never copied. The target must be an empty database; the vault's tables
        are created there.

        Every row is copied as stored, in one transaction, read back and compared
        before it commits: all or nothing. The copy is then opened as a new process
        would open it, unlocked with the same credential, its chain verified, every
        row's MAC checked and every value opened. A storage.copy event in the copy's
        audit trail records where it came from. Keep the file as a backup, and use
        the database from then on.

        No password in --to (a command line is visible to every user): put it in
        KEYWARDEN_DATABASE_PASSWORD. Stop an agent serving the file first: a write
        to the file during the copy cancels it.

        Examples:
          keywarden storage copy --to postgres://kw@db.internal/keywarden
          KEYWARDEN_DATABASE_PASSWORD=… keywarden storage copy \\
              --to postgres://kw@db.internal:5433/vault
          keywarden storage copy \\
              --to 'postgres://kw@db.internal/vault?sslrootcert=/etc/ssl/db-ca.pem'
        """
    )

    @Option(help: ArgumentHelp("The empty PostgreSQL database to copy into, postgres://USER@HOST[:PORT]/DATABASE (no password: use KEYWARDEN_DATABASE_PASSWORD).", valueName: "url"))
    var to: String
    @Option(name: .long, help: ArgumentHelp("Unlock the vault file with this keyfile (default: $KEYWARDEN_KEYFILE).", valueName: "path"))
    var keyfile: String?
    @Flag(help: "Print JSON.") var json = false

    /// Runs in this process, never through the agent: it reads the file itself.
    func run(_ context: CLIContext) async throws {
        let environment = context.environment
        let plan = try StorageCopy.plan(to: to, environment: environment)
        let options = try VaultOptions.parse(keyfile.map { ["--keyfile", $0] } ?? [])
        let credential = try Session.credential(options, environment: environment, prompt: context.input.promptHidden)
        let vaultContext = Session.context(context, command: "storage copy")
        let source = try Vault.unlock(try OpenedStore.readOnlyFile(at: plan.source), with: credential, context: vaultContext)
        let report = try StorageCopy.copy(source, credential: credential, to: plan.target, context: vaultContext)
        if json { return try context.output.json(report) }
        let output = context.output
        output.line("Copied \(Self.count(report.keys, "key")), \(Self.count(report.configEntries, "config entry", "config entries")), "
            + "\(Self.count(report.auditEvents, "audit event")) (chain verified before and after) to \(report.target)")
        let others = [("keyslots", "keyslot", "keyslots"), ("scopes", "scope", "scopes"), ("providers", "provider row", "provider rows"),
                      ("agent_tokens", "token", "tokens"), ("rotation_policies", "rotation policy", "rotation policies"),
                      ("rotations", "rotation", "rotations"), ("exported_files", "exported file", "exported files"),
                      ("key_traffic", "traffic count", "traffic counts"), ("key_headroom", "balance row", "balance rows")]
        let rest = others.compactMap { table, one, many in (report.rows[table] ?? 0) > 0 ? Self.count(report.rows[table]!, one, many) : nil }
        if !rest.isEmpty { output.line("  also: \(rest.joined(separator: ", "))") }
        output.line("  checked: \(report.rowsAuthenticated) row MACs, \(report.valuesOpened) sealed values opened, audit head #\(report.auditHead) the same in both")
        if let event = report.copyEvent {
            output.line("  recorded as event #\(event) (storage.copy) in the copy's audit trail")
        }
        output.line("\(report.source) was only read; keep it as a backup. From now on:")
        output.line("  export KEYWARDEN_DATABASE_URL=\(KeyslotAdd.shellWord(plan.target.shareable))")
        if let warning = report.warning { output.error("keywarden: warning: \(warning)") }
    }

    static func count(_ n: Int, _ one: String, _ many: String? = nil) -> String {
        "\(n) \(n == 1 ? one : many ?? one + "s")"
    }
}

import ArgumentParser
import Foundation
import KeywardenCore

extension ExportFormat: ExpressibleByArgument {}

struct Export: KeywardenCommand, Sendable {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a scope's active keys and config entries as an environment file.",
        discussion: """
        Formats: dotenv (python-dotenv, Node dotenv, godotenv, docker compose, Ruby dotenv), shell
        (`. file` in bash/dash), docker (`docker run --env-file`), systemd (EnvironmentFile=), json.
        A value a format cannot carry is refused with an error naming the variable, and nothing is
        written. dotenv refuses values with a line break: --multiline writes them as \\n, which
        every dotenv reader but Ruby dotenv 3.x decodes (format dotenv-multiline; see docs/formats.md).
        --output writes atomically, mode 0600.

        Examples:
          keywarden export --scope prod > .env
          keywarden export --scope prod --format systemd --output /etc/app/env
          keywarden export --scope dev --format shell --only OPENAI_API_KEY
          set -a; . <(keywarden export --scope dev --format shell); set +a
        """
    )

    @OptionGroup var vault: VaultOptions
    @Option(help: "The scope to export (with what it inherits).", completion: CompletionCandidates.scopes) var scope: String
    @Option(help: "dotenv, dotenv-multiline, shell, docker, systemd or json.") var format: ExportFormat = .dotenv
    @Flag(help: "dotenv: write values with a line break as \\n (not read back by Ruby dotenv 3.x) instead of refusing them.")
    var multiline = false
    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file (atomically, 0600) instead of stdout.", valueName: "file")) var output: String?
    @Option(help: ArgumentHelp("Only these variables (comma-separated).", valueName: "NAME,…")) var only: String?
    @Flag(help: "Include admin keys (`key add --admin`), which are otherwise never delivered. The file is not rewritten by `rotate --reexport`.")
    var includeAdmin = false

    func validate() throws {
        if multiline && format != .dotenv && format != .dotenvMultiline {
            throw ValidationError("--multiline goes with --format dotenv (the other formats have their own rules for line breaks)")
        }
    }

    func run(_ context: CLIContext) async throws {
        let format = multiline ? ExportFormat.dotenvMultiline : self.format
        let names = try RequestedVariables.parse(only: only)
        let service = try await Session.service(context, vault, command: "export")
        // The delivery is audited when the values are handed out, before they
        // are written: a value is never delivered without its event.
        let variables = try await service.environment(scope: scope, only: names, action: .export, destination: "\(output ?? "stdout") (\(format.rawValue))",
                                                      includeAdmin: includeAdmin)
        var bytes = try EnvironmentEncoder.encode(variables: variables, as: format)
        defer { Secrets.wipe(&bytes) }
        guard let output else { return context.output.raw(bytes) }
        try SecureFiles.writeAtomically(output, bytes: bytes)
        if includeAdmin {
            // A rotation's re-export never delivers admin keys: it would drop them from this file.
            return context.output.error("keywarden: wrote \(variables.count) variable(s) of \(scope) to \(output) (\(format.rawValue), mode 0600), admin keys included; not recorded for `rotate --reexport`")
        }
        // Remembered, whichever way it was written, so that `rotate --reexport`
        // rewrites it; without a record a rotation would leave the old key here.
        do {
            try await service.rememberExport(path: URL(fileURLWithPath: output).standardizedFileURL.path, scope: scope, format: format, only: names)
        } catch {
            throw KeywardenError(.failed, "wrote \(output), but could not record it for `rotate --reexport`: \((error as? KeywardenError)?.message ?? "\(error)"); run the export again")
        }
        context.output.error("keywarden: wrote \(variables.count) variable(s) of \(scope) to \(output) (\(format.rawValue), mode 0600)")
    }
}

import ArgumentParser
import Foundation
import KeywardenCore
import KeywardenCrypto

extension ExportFormat: ExpressibleByArgument {}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a scope's active keys and config entries as an environment file.",
        discussion: """
        Formats: dotenv (python-dotenv, Node dotenv, godotenv, docker compose), shell (`. file` in
        bash/dash), docker (`docker run --env-file`), systemd (EnvironmentFile=), json. A value a
        format cannot carry is refused with an error naming the variable, and nothing is written.
        --output writes atomically, mode 0600.

        Examples:
          keywarden export --scope prod > .env
          keywarden export --scope prod --format systemd --output /etc/app/env
          keywarden export --scope dev --format shell --only OPENAI_API_KEY
          set -a; . <(keywarden export --scope dev --format shell); set +a
        """
    )

    @OptionGroup var vault: VaultOptions
    @Option(help: "The scope to export (with what it inherits).") var scope: String
    @Option(help: "dotenv, shell, docker, systemd or json.") var format: ExportFormat = .dotenv
    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file (atomically, 0600) instead of stdout.", valueName: "file")) var output: String?
    @Option(help: ArgumentHelp("Only these variables (comma-separated).", valueName: "NAME,…")) var only: String?

    func run() throws {
        let names = try Delivery.parseOnly(only)
        let source = try ValueSources.open(vault, command: "export")
        // The delivery is audited when the values are handed out, before they
        // are written: a value is never delivered without its event.
        let variables = try source.environment(scope: scope, only: names, purpose: "\(output ?? "stdout") (\(format.rawValue))")
        var bytes = try Delivery.encode(variables, as: format)
        defer { wipe(&bytes) }
        if let output {
            try SecureFiles.writeAtomically(output, bytes: bytes)
            // Remembered, whichever path wrote it, so that `rotate --reexport`
            // rewrites it; without a record a rotation would leave the old key here.
            let path = URL(fileURLWithPath: output).standardizedFileURL.path
            do {
                if let direct = source as? VaultSource {
                    try direct.vault.rememberExport(path: path, scope: scope, format: format, only: names)
                } else if let agent = source as? AgentSource {
                    var record: [String: Any] = ["path": path, "scope": scope, "format": format.rawValue]
                    if let names { record["only"] = names }
                    let body = try JSONSerialization.data(withJSONObject: record)
                    _ = try agent.client.check(agent.client.request("POST", "/v1/exported-files", body: Array(body)))
                }
            } catch {
                throw KeywardenError(.failed, "wrote \(output), but could not record it for `rotate --reexport`: \((error as? KeywardenError)?.message ?? "\(error)"); run the export again")
            }
            Output.error("keywarden: wrote \(variables.count) variable(s) of \(scope) to \(output) (\(format.rawValue), mode 0600)")
        } else {
            bytes.withUnsafeBytes { Output.raw($0) }
        }
    }
}

/// Shared by the delivery commands.
enum Delivery {
    static func parseOnly(_ text: String?) throws(KeywardenError) -> [String]? {
        guard let text else { return nil }
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw KeywardenError(.invalidInput, "--only needs at least one variable name") }
        for name in names where !Names.isEnvironmentVariable(name) {
            throw KeywardenError(.invalidInput, "invalid variable name '\(name)' in --only")
        }
        return names
    }

    /// Encodes decrypted variables; the copies made for the encoder are wiped.
    static func encode(_ variables: [(name: String, value: SecureBytes)], as format: ExportFormat) throws(KeywardenError) -> [UInt8] {
        var plain = variables.map { (name: $0.name, value: $0.value.copyBytes()) }
        defer { for i in plain.indices { wipe(&plain[i].value) } }
        do {
            return try EnvironmentEncoder.encode(plain, as: format)
        } catch {
            throw KeywardenError(.invalidInput, "\(error.description); nothing was written")
        }
    }
}

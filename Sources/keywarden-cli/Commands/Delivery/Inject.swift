import ArgumentParser
import KeywardenCore

struct Inject: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "inject",
        abstract: "Render {{ kw://SCOPE/NAME }} references in a template (a YAML config, a compose override, a unit file).",
        discussion: """
        NAME is a key's variable name or a config entry of SCOPE (or one it inherits). Every
        reference is checked before anything is written; an unknown one is an error naming its
        line and column. --out writes atomically, mode 0600.

        Examples:
          keywarden inject --in config.yaml.tpl --out config.yaml
          keywarden inject --in - < compose.override.tpl > compose.override.yml
        """
    )

    @OptionGroup var vault: VaultOptions
    @Option(name: .customLong("in"), help: ArgumentHelp("The template file, or - for stdin.", valueName: "template")) var input: String
    @Option(name: .customLong("out"), help: ArgumentHelp("Write here (atomically, 0600) instead of stdout.", valueName: "file")) var output: String?

    func run(_ context: CLIContext) async throws {
        let template = try InputFile.read(input, input: context.input)
        let service = try await Session.service(context, vault, command: "inject")
        let source = input == "-" ? "stdin" : input
        var rendered = try await TemplateDelivery.render(template, file: source, service: service, action: .inject, destination: output ?? "stdout")
        defer { Secrets.wipe(&rendered) }
        guard let output else { return context.output.raw(rendered) }
        try SecureFiles.writeAtomically(output, bytes: rendered)
        // Like `export --output`: on stderr, so a script piping stdout is unaffected.
        context.output.error("keywarden: wrote \(output) from \(source) (mode 0600)")
    }
}

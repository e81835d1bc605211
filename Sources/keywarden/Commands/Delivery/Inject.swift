import ArgumentParser
import KeywardenCore
import KeywardenCrypto

struct Inject: ParsableCommand {
    static let configuration = CommandConfiguration(
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

    func run() throws {
        let template = try InputFile.read(input)
        let source = try ValueSources.open(vault, command: "inject")
        var rendered = try References.render(template, file: input == "-" ? "stdin" : input, source: source, destination: output ?? "stdout")
        defer { wipe(&rendered) }
        if let output {
            try SecureFiles.writeAtomically(output, bytes: rendered)
            // Like `export --output`: on stderr, so a script piping stdout is unaffected.
            Output.error("keywarden: wrote \(output) from \(input == "-" ? "stdin" : input) (mode 0600)")
        } else {
            rendered.withUnsafeBytes { Output.raw($0) }
        }
    }
}

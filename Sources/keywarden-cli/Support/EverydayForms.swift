import KeywardenCore
import KeywardenLaunch

/// The everyday forms of `run` and `export` — the commands programs and
/// shell prompts start most often — recognised without ArgumentParser.
///
/// ArgumentParser's first parse in a process costs more than the rest of a
/// `run` through the agent: it reflects over the command types, and each type
/// it meets for the first time makes the Swift runtime scan every protocol
/// conformance in this large binary (11,000 of them). So a command line made
/// only of these long options, each once, with a plain value, is turned into
/// the same command ArgumentParser would have built; anything else — help,
/// short or unknown options, repeats, values starting with `-`, empty values,
/// a missing `--`, an unknown format, a command that fails its `validate()` —
/// returns nil and goes to ArgumentParser, which answers it as always.
/// `EverydayFormsTests` checks the two parsers agree.
enum EverydayForms {
    /// The command for `arguments` (without the program name), or nil for
    /// ArgumentParser to parse.
    static func command(_ arguments: [String]) -> (any KeywardenCommand & Sendable)? {
        guard let name = arguments.first else { return nil }
        switch name {
        case "run":
            guard let terminator = arguments.firstIndex(of: "--"),
                  let options = EverydayArguments.parse(arguments[1..<terminator], allowed: ["--scope", "--only", "--env-file", "--keyfile", "--database"], flags: ["--clean"])
            else { return nil }
            var run = Run()
            run.vault = vaultOptions(options)
            run.scope = options["--scope"]
            run.only = options["--only"]
            run.clean = options.flags.contains("--clean")
            // Not everyday forms: `run --gateway` goes through ArgumentParser.
            run.gateway = false
            run.ttl = nil
            run.envFile = options["--env-file"]
            run.mask = false
            run.command = Array(arguments[(terminator + 1)...])
            return (try? run.validate()) == nil ? nil : run
        case "export":
            guard let options = EverydayArguments.parse(arguments[1...], allowed: ["--scope", "--format", "--output", "--only", "--keyfile", "--database"], flags: []),
                  let scope = options["--scope"] else { return nil }
            var format = ExportFormat.dotenv
            if let given = options["--format"] {
                guard let known = ExportFormat(rawValue: given) else { return nil }
                format = known
            }
            var export = Export()
            export.vault = vaultOptions(options)
            export.scope = scope
            export.format = format
            export.output = options["--output"]
            export.only = options["--only"]
            export.multiline = false
            export.includeAdmin = false
            return export
        default:
            return nil
        }
    }

    private static func vaultOptions(_ options: EverydayArguments) -> VaultOptions {
        var vault = VaultOptions()
        vault.keyfile = options["--keyfile"]
        vault.database = options["--database"]
        return vault
    }
}

import ArgumentParser
import Foundation
import KeywardenCore

struct Import: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an existing .env file: provider keys become keys, the rest config entries.",
        discussion: """
        Reads `export` prefixes, comments, single/double/unquoted and multi-line quoted values, CRLF
        and a BOM. Keys are recognised by variable name (ANTHROPIC_API_KEY, GEMINI_API_KEY, …) or
        format (sk-ant-…, sk-proj-…, AIza…, gsk_…, sk-or-v1-…); they keep the file's variable name.
        Other values become config entries, secret unless clearly not (URLs without credentials,
        numbers, booleans, model names). Variables that change how programs load (PATH, LD_*,
        DYLD_*, NODE_OPTIONS, PYTHONPATH, PERL5OPT, BASH_ENV, ENV, …) are refused unless allowed
        with --allow NAME or --allow-loader-vars. No interpolation is done. All or nothing: a malformed line
        is an error with file:line:column and nothing is imported.

        Examples:
          keywarden import .env --scope dev --dry-run
          keywarden import .env.production --scope prod
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The .env file (or - for stdin).") var file: String
    @Option(help: "The scope to import into.", completion: CompletionCandidates.scopes) var scope: String
    @Flag(help: "Show what would be imported; change nothing.") var dryRun = false
    @Flag(help: "Print the plan as JSON.") var json = false
    @Option(name: .customLong("allow"), help: ArgumentHelp("Import this variable even though it changes how programs load (PATH, LD_*, …).", valueName: "NAME"))
    var allowed: [String] = []
    @Flag(help: "Import every variable that changes how programs load (PATH, LD_*, …).") var allowLoaderVars = false

    func run(_ context: CLIContext) async throws {
        var bytes = try InputFile.read(file, input: context.input)
        defer { Secrets.wipe(&bytes) }
        var entries: [DotenvEntry]
        do {
            entries = try DotenvParser.parse(bytes, file: file)
        } catch {
            throw KeywardenError(.invalidInput, "\(error.description); nothing was imported")
        }
        // The request holds the values in guarded memory; the parser's copies go.
        let request = ImportRequest(entries: entries, scope: scope, file: file, allowed: allowed, allowLoaderVariables: allowLoaderVars)
        for index in entries.indices { Secrets.wipe(&entries[index].value) }
        let service = try await Session.service(context, vault, command: "import")
        // A progress line for large files (stored entries), on a terminal only.
        let progress = ProgressLine("importing \(file)", context.output, enabled: !json && isatty(STDERR_FILENO) == 1, threshold: 200)
        let plan = dryRun ? try await service.planImport(request)
                          : try await OperationProgress.$current.withValue(progress.report) { try await service.applyImport(request) }
        progress.finish()
        if json { return try context.output.json(plan) }
        context.output.table(["LINE", "NAME", "AS", "CHANGE", "NOTE"], plan.items.map { item in
            let what = item.kind == .key ? "\(item.provider ?? "?") key \(item.hint ?? "")" : (item.secret ? "config (secret)" : "config (plain)")
            return [String(item.line), item.name, what, item.change, item.note ?? ""]
        })
        let changed = plan.items.filter { $0.change != "unchanged" }.count
        context.output.line(dryRun ? "Dry run: \(changed) change(s) into \(scope); nothing was written." : "Imported \(changed) change(s) into \(scope).")
    }
}

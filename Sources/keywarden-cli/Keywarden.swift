#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import KeywardenCore
import KeywardenLaunch

/// The `keywarden` command line. Each subcommand lives in its own file under
/// `Commands/`; all logic is in KeywardenCore.
struct Keywarden: ParsableCommand {
    static let version = KeywardenVersion.current

    static let configuration = CommandConfiguration(
        commandName: "keywarden",
        abstract: "Keep LLM provider API keys and config encrypted, scoped, audited — and deliver them to programs.",
        discussion: """
        The vault lives in $KEYWARDEN_HOME/vault.db (default ~/.local/share/keywarden).
        It unlocks with --keyfile / $KEYWARDEN_KEYFILE, $KEYWARDEN_PASSPHRASE, or a passphrase prompt.

        Exit codes: 0 ok, 1 failure, 2 invalid input or not found, 3 cannot unlock,
        4 integrity error or unusable vault file, 5 a key check failed, 64 usage error.
        """,
        version: version,
        subcommands: [
            Init.self, Status.self, Passwd.self, KeyslotCommand.self,
            KeyCommand.self, ConfigCommand.self, ScopeCommand.self, ProviderCommand.self,
            Export.self, Run.self, Inject.self, Import.self,
            Validate.self, Doctor.self,
            Serve.self, Lock.self, TokenCommand.self, Report.self,
            RotateCommand.self,
            AuditCommand.self,
            StorageCommand.self,
            Completion.self,
        ]
    )
}

@main
enum Main {
    static func main() async {
        // Secrets must not end up in a core file or another process's view
        // of our memory.
        CoreDumps.disable()
        // Answered before ArgumentParser sees the arguments: its first parse
        // costs several milliseconds (reflection over the command types and a
        // scan of every protocol conformance in this large binary for each
        // new type), which `--version`, asked by scripts and package checks,
        // need not pay. The output is ArgumentParser's own: the version and a newline.
        let arguments = Serve.expandingBareGateway(Array(CommandLine.arguments.dropFirst()))
        if arguments == ["--version"] {
            print(Keywarden.version)
            return
        }
        do {
            // `run` and `export` in their everyday forms skip it too
            // (EverydayForms), and stay on the main queue (MainThreadExecutor).
            if var everyday = EverydayForms.command(arguments) {
                if #available(macOS 15, *) {
                    return try await withTaskExecutorPreference(MainThreadExecutor()) { try await everyday.run() }
                }
                return try await everyday.run()
            }
            var command = try Keywarden.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as KeywardenError {
            Output().error("keywarden: \(error.message)")
            exit(error.exitCode)
        } catch let error as CommandFailure {
            if !error.message.isEmpty { Output().error("keywarden: \(error.message)") }
            exit(error.code)
        } catch {
            Keywarden.exit(withError: error)
        }
    }
}

/// A command ending with a given exit code after printing its own report
/// (e.g. `audit verify` finding a broken chain).
struct CommandFailure: Error {
    var code: Int32
    var message: String
}

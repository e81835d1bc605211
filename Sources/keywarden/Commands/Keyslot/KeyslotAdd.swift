import ArgumentParser
import Foundation
import KeywardenCore

struct KeyslotAdd: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a passphrase or keyfile slot.",
        discussion: """
        Unlock with an existing slot first (--keyfile, KEYWARDEN_KEYFILE, KEYWARDEN_PASSPHRASE or
        the prompt). A new passphrase comes from KEYWARDEN_NEW_PASSPHRASE or a double prompt.

        Examples:
          keywarden keyslot add keyfile /etc/keywarden/ci.key
          KEYWARDEN_NEW_PASSPHRASE=… keywarden keyslot add passphrase --kdf interactive
        """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable { case passphrase, keyfile }

    @OptionGroup var vault: VaultOptions
    @Argument(help: "passphrase or keyfile.") var kind: Kind
    @Argument(help: ArgumentHelp("For keyfile: where to write the new keyfile.", valueName: "path")) var path: String?
    @Option(help: "Argon2id cost for a passphrase slot.") var kdf: KDFCost = .moderate

    func validate() throws {
        if kind == .keyfile && path == nil { throw ValidationError("keyslot add keyfile needs the path of the new keyfile") }
        if kind == .passphrase && path != nil { throw ValidationError("a passphrase slot takes no path; the passphrase is read from KEYWARDEN_NEW_PASSPHRASE or the terminal") }
    }

    func run(_ context: CLIContext) async throws {
        let service = try await Session.service(context, vault, command: "keyslot add")
        let slot: Keyslots.Add.Slot = switch kind {
        // Absolute: the agent, in another working folder, may be the one writing it.
        case .keyfile: .keyfile(path: Self.absolute(path!))
        case .passphrase: .passphrase(try context.input.newPassphrase(envVar: "KEYWARDEN_NEW_PASSPHRASE", environment: context.environment), kdf: kdf)
        }
        let info = try await service.addKeyslot(slot)
        context.output.line("Added keyslot \(info.id) (\(info.kind)\(path.map { ", \($0)" } ?? "")).")
    }

    /// `path` against this process's working folder, as the user meant it.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let folder = FileManager.default.currentDirectoryPath
        return (folder.hasSuffix("/") ? folder : folder + "/") + path
    }
}

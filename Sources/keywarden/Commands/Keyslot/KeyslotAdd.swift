import ArgumentParser
import KeywardenCore

struct KeyslotAdd: ParsableCommand {
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
    @Option(help: "Argon2id cost for a passphrase slot.") var kdf: KDFLevel = .moderate

    func validate() throws {
        if kind == .keyfile && path == nil { throw ValidationError("keyslot add keyfile needs the path of the new keyfile") }
        if kind == .passphrase && path != nil { throw ValidationError("a passphrase slot takes no path; the passphrase is read from KEYWARDEN_NEW_PASSPHRASE or the terminal") }
    }

    func run() throws {
        let opened = try Session.open(vault, command: "keyslot add")
        let slot: NewKeyslot = switch kind {
        case .keyfile: .keyfile(path: path!)
        case .passphrase: .passphrase(try SecretInput.newPassphrase(envVar: "KEYWARDEN_NEW_PASSPHRASE", environment: Session.environment), kdf.parameters)
        }
        let info = try opened.addKeyslot(slot)
        Output.line("Added keyslot \(info.id) (\(info.kind)\(path.map { ", \($0)" } ?? "")).")
    }
}

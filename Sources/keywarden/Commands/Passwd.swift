import ArgumentParser
import KeywardenCore

struct Passwd: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change the passphrase of a passphrase keyslot.",
        discussion: """
        Only the wrapped master key changes; stored values are not re-encrypted. The new
        passphrase comes from KEYWARDEN_NEW_PASSPHRASE or is asked twice on the terminal.

        Examples:
          keywarden passwd
          KEYWARDEN_PASSPHRASE=old KEYWARDEN_NEW_PASSPHRASE=new \\
            keywarden passwd --slot 2
        """
    )

    @OptionGroup var vault: VaultOptions
    @Option(help: "The passphrase slot to change (needed when there are several).") var slot: Int64?
    @Option(help: "New Argon2id cost (default: keep the slot's).") var kdf: KDFLevel?

    func run() throws {
        let opened = try Session.open(vault, command: "passwd")
        let passphrase = try SecretInput.newPassphrase(envVar: "KEYWARDEN_NEW_PASSPHRASE", environment: Session.environment)
        let info = try opened.changePassphrase(slotID: slot, to: passphrase, parameters: kdf?.parameters)
        Output.line("Changed the passphrase of keyslot \(info.id) (\(info.kdf ?? "")).")
    }
}

import ArgumentParser
import KeywardenCore

struct Passwd: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
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
    @Option(help: "New Argon2id cost (default: keep the slot's).") var kdf: KDFCost?

    func run(_ context: CLIContext) async throws {
        let service = try await Session.service(context, vault, command: "passwd")
        let passphrase = try context.input.newPassphrase(envVar: "KEYWARDEN_NEW_PASSPHRASE", environment: context.environment)
        let info = try await service.changePassphrase(slot: slot, to: passphrase, kdf: kdf)
        context.output.line("Changed the passphrase of keyslot \(info.id) (\(info.kdf ?? "")).")
    }
}

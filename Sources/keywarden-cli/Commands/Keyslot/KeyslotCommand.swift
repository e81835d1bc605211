import ArgumentParser
import KeywardenCore

struct KeyslotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyslot",
        abstract: "Manage the ways to unlock the vault (passphrase and keyfile slots).",
        subcommands: [KeyslotAdd.self, KeyslotList.self, KeyslotRemove.self]
    )
}

/// `--kdf interactive|moderate|sensitive` (init, keyslot add, passwd).
extension KDFCost: ExpressibleByArgument {}

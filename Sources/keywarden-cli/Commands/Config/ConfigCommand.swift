import ArgumentParser

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Manage other named values of a scope (base URLs, database URLs, settings).",
        subcommands: [ConfigSet.self, ConfigGet.self, ConfigList.self, ConfigUnset.self]
    )
}

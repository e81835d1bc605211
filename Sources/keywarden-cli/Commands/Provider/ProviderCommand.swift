import ArgumentParser

struct ProviderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider",
        abstract: "List, inspect, define and configure API providers.",
        subcommands: [ProviderList.self, ProviderShow.self, ProviderAdd.self, ProviderSet.self, ProviderRemove.self]
    )
}

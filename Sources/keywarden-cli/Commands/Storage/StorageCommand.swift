import ArgumentParser

struct StorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Move the vault between storage backends (a file, PostgreSQL).",
        subcommands: [StorageCopyCommand.self]
    )
}

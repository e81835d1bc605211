import ArgumentParser

struct RotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Rotate keys and manage rotation policies.",
        subcommands: [RotatePolicyCommand.self]
    )
}

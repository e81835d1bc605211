import ArgumentParser

struct RotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Rotate keys and manage rotation policies.",
        subcommands: [RotateRun.self, RotatePolicyCommand.self],
        defaultSubcommand: RotateRun.self
    )
}

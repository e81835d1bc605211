import ArgumentParser
import KeywardenCore

struct RotatePolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Set or list rotation policies (a parent scope's policy applies to its children).",
        subcommands: [RotatePolicySet.self, RotatePolicyList.self],
        defaultSubcommand: RotatePolicySet.self
    )
}

struct RotatePolicySet: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set the rotation policy of a provider in a scope (the default of `rotate policy`).",
        discussion: """
        --command prints a new key on stdout; it runs with /bin/sh -c and gets KEYWARDEN_PROVIDER,
        KEYWARDEN_SCOPE and KEYWARDEN_OLD_KEY_ID in its environment (never a key in argv).
        --revoke-command receives the old key on stdin when its grace period ends.
        Both run in the process that runs the rotation: the agent when one is up (its environment
        and working directory, as for its scheduler), else `keywarden rotate`; give absolute paths.
        --failover on promotes the next healthy standby key when the active one is reported failed
        or found invalid, forbidden or out of credit.
        --spread round-robin|least-in-flight spreads the gateway's traffic over the pool's healthy
        keys (the active key and healthy standbys) instead of the active key alone; off undoes it.

        Examples:
          keywarden rotate policy anthropic --scope prod --every 30d --grace 24h \\
            --command ~/bin/new-anthropic-key.sh
          keywarden rotate policy openai --scope prod --failover on
          keywarden rotate policy openai --scope prod --spread round-robin
          keywarden rotate policy list
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The provider.") var provider: String
    @Option(help: "The scope (children inherit the policy).") var scope: String
    @Option(help: ArgumentHelp("Rotate every … (e.g. 30d), or 'never'.", valueName: "duration")) var every: String?
    @Option(help: ArgumentHelp("How long a replaced key stays valid (default 24h).", valueName: "duration")) var grace: String?
    @Option(help: ArgumentHelp("Command that prints a new key ('' to remove).", valueName: "cmd")) var command: String?
    @Option(help: ArgumentHelp("Command that receives a revoked key on stdin ('' to remove).", valueName: "cmd")) var revokeCommand: String?
    @Option(help: ArgumentHelp("Time limit for the rotate command (default 60s).", valueName: "duration")) var commandTimeout: String?
    @Option(help: ArgumentHelp("Time limit for the revoke command (default 60s).", valueName: "duration")) var revokeTimeout: String?
    @Option(help: ArgumentHelp("Fail over to a standby key: on or off.", valueName: "on|off")) var failover: String?
    @Option(help: ArgumentHelp("Spread gateway traffic over the pool's healthy keys, or off for the active key alone.",
                               valueName: "round-robin|least-in-flight|off")) var spread: String?

    func run(_ context: CLIContext) async throws {
        func duration(_ text: String?, _ option: String) throws(KeywardenError) -> DurationSpec? {
            try text.map { text throws(KeywardenError) in try DurationSpec(option: option, text, examples: "30s, 15m, 24h or 30d") }
        }
        var change = RotationPolicyChange()
        if let every {
            change.every = every == "never" ? .some(nil) : .some(try duration(every, "every"))
            if let seconds = try duration(every == "never" ? nil : every, "every")?.seconds, seconds <= 0 {
                throw KeywardenError(.invalidInput, "invalid --every '\(every)': it must be longer than 0")
            }
        }
        change.grace = try duration(grace, "grace")
        change.commandTimeout = try duration(commandTimeout, "command-timeout")
        change.revokeTimeout = try duration(revokeTimeout, "revoke-timeout")
        if let command { change.command = .some(command) }
        if let revokeCommand { change.revokeCommand = .some(revokeCommand) }
        if let failover {
            guard ["on", "off"].contains(failover) else { throw KeywardenError(.invalidInput, "invalid --failover '\(failover)': use on or off") }
            change.failover = failover == "on"
        }
        if let spread {
            guard spread == "off" || GatewaySpread(rawValue: spread) != nil else {
                throw KeywardenError(.invalidInput, "invalid --spread '\(spread)': use round-robin, least-in-flight or off")
            }
            change.spread = .some(GatewaySpread(rawValue: spread))
        }
        let policy = try await Session.service(context, vault, command: "rotate policy").setRotationPolicy(provider: provider, scope: scope, change)
        context.output.line("Policy for \(policy.provider)/\(policy.scope): every \(policy.every?.description ?? "never (manual)"), grace \(policy.grace), failover \(policy.failover ? "on" : "off")\(policy.spread.map { ", spread \($0.rawValue)" } ?? "")\(policy.command != nil ? ", rotate command set" : "")\(policy.revokeCommand != nil ? ", revoke command set" : "").")
    }
}

struct RotatePolicyList: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List rotation policies.",
        discussion: """
        Examples:
          keywarden rotate policy list
          keywarden rotate policy list --json
        """,
        aliases: ["ls"]
    )

    @OptionGroup var vault: VaultOptions
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let policies = try await Session.service(context, vault, command: "rotate policy list").rotationPolicies()
        if json { return try context.output.json(policies) }
        if policies.isEmpty { return context.output.line("No rotation policies. Set one with `keywarden rotate policy PROVIDER --scope S --every 30d`.") }
        context.output.table(["PROVIDER", "SCOPE", "EVERY", "GRACE", "FAILOVER", "SPREAD", "COMMAND", "REVOKE COMMAND"], policies.map { p in
            [p.provider, p.scope, p.every?.description ?? "never", p.grace.description, p.failover ? "on" : "off", p.spread?.rawValue ?? "off",
             p.command ?? "-", p.revokeCommand ?? "-"]
        })
    }
}

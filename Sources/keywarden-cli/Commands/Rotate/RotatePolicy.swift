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
        --via names a built-in rotator instead of --command (docs/rotation-apis.md), with
        --admin-key kw://SCOPE/NAME, an admin key stored with `key add PROVIDER --scope SCOPE
        --admin`. openai-admin (with --project PROJECT_ID) creates a project service account
        and its key; openrouter-management creates a key; both delete the old key at the end
        of grace. anthropic-admin is assisted: a person adds the new key as a standby, and at
        the end of grace the old key is set inactive through Anthropic's Admin API. A key
        created but not finished is deleted at the provider again. --via none removes it.

        Examples:
          keywarden rotate policy anthropic --scope prod --every 30d --grace 24h \\
            --command ~/bin/new-anthropic-key.sh
          keywarden rotate policy openai --scope prod --failover on
          keywarden rotate policy openai --scope prod --spread round-robin
          keywarden rotate policy openai --scope prod --every 30d --via openai-admin \\
            --admin-key kw://admin/OPENAI_ADMIN_KEY --project proj_abc123
          keywarden rotate policy list
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The provider.", completion: CompletionCandidates.providers) var provider: String
    @Option(help: "The scope (children inherit the policy).", completion: CompletionCandidates.scopes) var scope: String
    @Option(help: ArgumentHelp("Rotate every … (e.g. 30d), or 'never'.", valueName: "duration")) var every: String?
    @Option(help: ArgumentHelp("How long a replaced key stays valid (default 24h).", valueName: "duration")) var grace: String?
    @Option(help: ArgumentHelp("Command that prints a new key ('' to remove).", valueName: "cmd")) var command: String?
    @Option(help: ArgumentHelp("Command that receives a revoked key on stdin ('' to remove).", valueName: "cmd")) var revokeCommand: String?
    @Option(help: ArgumentHelp("Time limit for the rotate command (default 60s).", valueName: "duration")) var commandTimeout: String?
    @Option(help: ArgumentHelp("Time limit for the revoke command (default 60s).", valueName: "duration")) var revokeTimeout: String?
    @Option(help: ArgumentHelp("Fail over to a standby key: on or off.", valueName: "on|off")) var failover: String?
    @Option(help: ArgumentHelp("Spread gateway traffic over the pool's healthy keys, or off for the active key alone.",
                               valueName: "round-robin|least-in-flight|off")) var spread: String?
    @Option(help: ArgumentHelp("A built-in rotator through the provider's API, or none.", valueName: "openai-admin|openrouter-management|anthropic-admin|none"))
    var via: String?
    @Option(help: ArgumentHelp("The admin key the rotator uses ('' to remove).", valueName: "kw://SCOPE/NAME")) var adminKey: String?
    @Option(help: ArgumentHelp("OpenAI project id, for --via openai-admin ('' to remove).", valueName: "id")) var project: String?

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
        if let via {
            guard via == "none" || ProviderRotatorKind(rawValue: via) != nil else {
                throw KeywardenError(.invalidInput, "invalid --via '\(via)': use \(ProviderRotatorKind.allCases.map(\.rawValue).joined(separator: ", ")) or none")
            }
            change.via = .some(ProviderRotatorKind(rawValue: via))
        }
        change.adminKey = adminKey
        change.project = project
        let policy = try await Session.service(context, vault, command: "rotate policy").setRotationPolicy(provider: provider, scope: scope, change)
        context.output.line("Policy for \(policy.provider)/\(policy.scope): every \(policy.every?.description ?? "never (manual)"), grace \(policy.grace), failover \(policy.failover ? "on" : "off")\(policy.spread.map { ", spread \($0.rawValue)" } ?? "")\(policy.command != nil ? ", rotate command set" : "")\(policy.revokeCommand != nil ? ", revoke command set" : "")\(policy.via.map { ", via \($0.rawValue) with \(policy.adminKey ?? "-")" } ?? "").")
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
        context.output.table(["PROVIDER", "SCOPE", "EVERY", "GRACE", "FAILOVER", "SPREAD", "COMMAND", "REVOKE COMMAND", "VIA"], policies.map { p in
            [p.provider, p.scope, p.every?.description ?? "never", p.grace.description, p.failover ? "on" : "off", p.spread?.rawValue ?? "off",
             p.command ?? "-", p.revokeCommand ?? "-", p.via.map { "\($0.rawValue) \(p.adminKey ?? "")\(p.project.map { " \($0)" } ?? "")" } ?? "-"]
        })
    }
}

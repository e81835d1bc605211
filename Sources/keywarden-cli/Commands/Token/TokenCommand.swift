import ArgumentParser
import KeywardenCore

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage tokens that let other users' programs read chosen scopes from the agent.",
        subcommands: [TokenCreate.self, TokenList.self, TokenRevoke.self]
    )
}

struct TokenCreate: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a token (printed once; only a keyed hash is stored).",
        discussion: """
        A token reads the active keys of its scopes (only --provider's, if given) and no config
        entry unless --config grants it: name entries (repeatable or comma-separated) or give
        --config all. It expires after --ttl (default 90d); --no-expiry makes it last until revoked.
        Anything outside its grant is answered like something that does not exist.

        Examples:
          keywarden token create web --scope prod --provider anthropic --ttl 30d
          keywarden token create ci --scope staging --scope dev \\
            --config DATABASE_URL,APP_URL
          keywarden token create batch --scope prod --config all --no-expiry
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "A name for the token.") var name: String
    @Option(help: "A scope it may read (repeatable).", completion: CompletionCandidates.scopes) var scope: [String] = []
    @Option(help: "A provider whose keys it may read (repeatable; default all).", completion: CompletionCandidates.providers) var provider: [String] = []
    @Option(help: ArgumentHelp("Config entries it may read: names (repeatable, or comma-separated) or 'all' (default none).", valueName: "names"))
    var config: [String] = []
    @Option(help: ArgumentHelp("Expire after this long (default \(Tokens.defaultTTL)).", valueName: "duration")) var ttl: String?
    @Flag(help: "Never expire (until revoked).") var noExpiry = false

    func run(_ context: CLIContext) async throws {
        // Options checked before the vault is asked, so a typo costs no unlock.
        let request = try Tokens.Create(name: name, scopes: scope, providers: provider, configOptions: config, ttl: ttl, noExpiry: noExpiry)
        let created = try await Session.service(context, vault, command: "token create").createToken(request)
        let token = created.token
        // Through the agent too, the token exists only in this answer: printed once, never stored.
        created.secret.withUnsafeBytes { context.output.raw($0) }
        context.output.raw(Array("\n".utf8))
        context.output.error("keywarden: token '\(token.name)' (\(token.id)) reads \(token.scopes.joined(separator: ", "))\(token.providers.isEmpty ? "" : " for \(token.providers.joined(separator: ", "))"), config \(TokenList.describe(token.config))\(token.expiresAt.map { ", until \($0.iso8601)" } ?? ", no expiry"). It is shown only now: store it.")
    }
}

struct TokenList: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List tokens (never the tokens themselves).",
        discussion: """
        Examples:
          keywarden token list
          keywarden token list --json
        """,
        aliases: ["ls"]
    )

    @OptionGroup var vault: VaultOptions
    @Flag(help: "Print JSON.") var json = false

    func run(_ context: CLIContext) async throws {
        let tokens = try await Session.service(context, vault, command: "token list").listTokens()
        if json { return try context.output.json(tokens) }
        if tokens.isEmpty { return context.output.line("No tokens.") }
        let now = context.clock()
        context.output.table(["ID", "NAME", "SCOPES", "PROVIDERS", "CONFIG", "EXPIRES", "LAST USED", "STATE"], tokens.map { t in
            [t.id, t.name, t.scopes.joined(separator: ","), t.providers.isEmpty ? "all" : t.providers.joined(separator: ","), Self.describe(t.config),
             t.expiresAt == nil ? "never" : Output.time(t.expiresAt), t.lastUsedAt == nil ? "never" : Output.time(t.lastUsedAt),
             t.revokedAt != nil ? "revoked" : ((t.expiresAt.map { $0 <= now } ?? false) ? "expired" : "active")]
        })
    }
}

extension TokenList {
    /// A config grant as shown: `none`, `all` or the names.
    static func describe(_ config: [String]) -> String {
        config.isEmpty ? "none" : config.contains("*") ? "all" : config.joined(separator: ",")
    }
}

struct TokenRevoke: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a token by name or id; the agent refuses it from the next request on.",
        discussion: """
        Examples:
          keywarden token revoke web
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "The token's name or id.") var name: String

    func run(_ context: CLIContext) async throws {
        let token = try await Session.service(context, vault, command: "token revoke").revokeToken(name)
        context.output.line("Revoked token '\(token.name)' (\(token.id)).")
    }
}

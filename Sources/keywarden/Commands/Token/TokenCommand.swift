import ArgumentParser
import KeywardenCore
import KeywardenCrypto

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage tokens that let other users' programs read chosen scopes from the agent.",
        subcommands: [TokenCreate.self, TokenList.self, TokenRevoke.self]
    )
}

struct TokenCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a token (printed once; only a keyed hash is stored).",
        discussion: """
        Examples:
          keywarden token create web --scope prod --provider anthropic --ttl 30d
          keywarden token create ci --scope staging --scope dev
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "A name for the token.") var name: String
    @Option(help: "A scope it may read (repeatable).") var scope: [String] = []
    @Option(help: "A provider whose keys it may read (repeatable; default all).") var provider: [String] = []
    @Option(help: ArgumentHelp("Expire after this long (e.g. 30d).", valueName: "duration")) var ttl: String?

    func run() throws {
        let lifetime: DurationSpec? = try ttl.map { text throws(KeywardenError) in
            guard let spec = DurationSpec(parsing: text), spec.seconds > 0 else {
                throw KeywardenError(.invalidInput, "invalid --ttl '\(text)': use a duration like 12h or 30d")
            }
            return spec
        }
        let opened = try Session.open(vault, command: "token create")
        let (token, secret) = try opened.createToken(name: name, scopes: scope, providers: provider, ttl: lifetime)
        secret.withUnsafeBytes { Output.raw($0) }
        Output.raw(Array("\n".utf8))
        Output.error("keywarden: token '\(token.name)' (\(token.id)) reads \(token.scopes.joined(separator: ", "))\(token.providers.isEmpty ? "" : " for \(token.providers.joined(separator: ", "))")\(token.expiresAt.map { ", until \($0.iso8601)" } ?? ""). It is shown only now: store it.")
    }
}

struct TokenList: ParsableCommand {
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

    func run() throws {
        let tokens = try Session.open(vault, command: "token list").listTokens()
        if json { return try Output.json(tokens) }
        if tokens.isEmpty { return Output.line("No tokens.") }
        Output.table(["ID", "NAME", "SCOPES", "PROVIDERS", "EXPIRES", "STATE"], tokens.map { t in
            [t.id, t.name, t.scopes.joined(separator: ","), t.providers.isEmpty ? "all" : t.providers.joined(separator: ","), Output.time(t.expiresAt),
             t.revokedAt != nil ? "revoked" : ((t.expiresAt.map { $0 <= .now() } ?? false) ? "expired" : "active")]
        })
    }
}

struct TokenRevoke: ParsableCommand {
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

    func run() throws {
        let token = try Session.open(vault, command: "token revoke").revokeToken(name)
        Output.line("Revoked token '\(token.name)' (\(token.id)).")
    }
}

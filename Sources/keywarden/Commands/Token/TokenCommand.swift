import ArgumentParser
import Foundation
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
    @Option(help: "A scope it may read (repeatable).") var scope: [String] = []
    @Option(help: "A provider whose keys it may read (repeatable; default all).") var provider: [String] = []
    @Option(help: ArgumentHelp("Config entries it may read: names (repeatable, or comma-separated) or 'all' (default none).", valueName: "names"))
    var config: [String] = []
    @Option(help: ArgumentHelp("Expire after this long (default \(TokenCreate.defaultTTL)).", valueName: "duration")) var ttl: String?
    @Flag(help: "Never expire (until revoked).") var noExpiry = false

    /// How long a token lives unless told otherwise: a forgotten token should not work forever.
    static let defaultTTL = "90d"

    func run() throws {
        if noExpiry, ttl != nil { throw KeywardenError(.invalidInput, "--ttl and --no-expiry exclude each other; pass one") }
        var lifetime: DurationSpec?
        if !noExpiry {
            let text = ttl ?? Self.defaultTTL
            guard let spec = DurationSpec(parsing: text), spec.seconds > 0 else {
                throw KeywardenError(.invalidInput, "invalid --ttl '\(text)': use a duration like 12h or 30d")
            }
            lifetime = spec
        }
        let names = config.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        let grant = names.contains { $0.lowercased() == "all" || $0 == "*" } ? ["*"] : names
        let opened = try Session.open(vault, command: "token create")
        let (token, secret) = try opened.createToken(name: name, scopes: scope, providers: provider, config: grant, ttl: lifetime)
        secret.withUnsafeBytes { Output.raw($0) }
        Output.raw(Array("\n".utf8))
        Output.error("keywarden: token '\(token.name)' (\(token.id)) reads \(token.scopes.joined(separator: ", "))\(token.providers.isEmpty ? "" : " for \(token.providers.joined(separator: ", "))"), config \(TokenList.describe(token.config))\(token.expiresAt.map { ", until \($0.iso8601)" } ?? ", no expiry"). It is shown only now: store it.")
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
        Output.table(["ID", "NAME", "SCOPES", "PROVIDERS", "CONFIG", "EXPIRES", "LAST USED", "STATE"], tokens.map { t in
            [t.id, t.name, t.scopes.joined(separator: ","), t.providers.isEmpty ? "all" : t.providers.joined(separator: ","), Self.describe(t.config),
             t.expiresAt == nil ? "never" : Output.time(t.expiresAt), t.lastUsedAt == nil ? "never" : Output.time(t.lastUsedAt),
             t.revokedAt != nil ? "revoked" : ((t.expiresAt.map { $0 <= .now() } ?? false) ? "expired" : "active")]
        })
    }
}

extension TokenList {
    /// A config grant as shown: `none`, `all` or the names.
    static func describe(_ config: [String]) -> String {
        config.isEmpty ? "none" : config.contains("*") ? "all" : config.joined(separator: ",")
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

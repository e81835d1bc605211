import Foundation

/// A provider as listed: its effective definition and where it came from.
public struct ProviderInfo: Codable, Sendable, Equatable {
    public var definition: ProviderDefinition
    /// `builtin`, `builtin (overridden)` or `custom`.
    public var source: String
    /// Keys stored for it, in every scope.
    public var keys: Int
}

/// Built-in providers merged with the user's own and their overrides.
extension Vault {
    /// Every provider, built-ins first, then custom ones by name.
    public func providers() throws(KeywardenError) -> [ProviderInfo] {
        try read { tx in
            let rows = try tx.providerRows()
            let counts = try tx.keyCountsByProvider()
            var result: [ProviderInfo] = BuiltinProviders.all.map { builtin in
                let row = rows.first { $0.name == builtin.name }
                return ProviderInfo(definition: Self.apply(row, to: builtin), source: Self.isOverridden(row) ? "builtin (overridden)" : "builtin", keys: counts[builtin.name] ?? 0)
            }
            for row in rows where !row.builtin {
                result.append(ProviderInfo(definition: try Self.decodeDefinition(row), source: "custom", keys: counts[row.name] ?? 0))
            }
            return result
        }
    }

    /// One provider's effective definition, or a `.notFound` error naming it.
    public func provider(named name: String) throws(KeywardenError) -> ProviderDefinition {
        try read { tx in try provider(named: name, tx) }
    }

    func provider(named name: String, _ tx: any StoreReading) throws -> ProviderDefinition {
        let row = try tx.providerRow(named: name)
        if let builtin = BuiltinProviders.named(name) { return Self.apply(row, to: builtin) }
        guard let row, !row.builtin else { throw KeywardenError.unknownProvider(name) }
        return try Self.decodeDefinition(row)
    }

    /// Defines a new provider.
    public func addProvider(_ definition: ProviderDefinition) throws(KeywardenError) {
        try Names.require(Names.isProvider(definition.name), "provider name", definition.name, Names.providerRule)
        try Names.require(Names.isEnvironmentVariable(definition.env), "variable name", definition.env, Names.envRule)
        var definition = definition
        definition.baseURL = try Self.checkedBaseURL(definition.baseURL, provider: definition.name, allowInsecureHTTP: definition.allowInsecureHTTP)
        // The flag means something only for a plain-HTTP URL to another host.
        definition.allowInsecureHTTP = definition.allowInsecureHTTP && Self.isInsecureHTTP(definition.baseURL)
        if let format = definition.keyFormat {
            guard (try? Regex(format.pattern)) != nil else {
                throw KeywardenError(.invalidInput, "invalid --key-pattern: '\(format.pattern)' is not a regular expression")
            }
        }
        if BuiltinProviders.named(definition.name) != nil {
            throw KeywardenError(.conflict, "'\(definition.name)' is a built-in provider; change its settings with `keywarden provider set \(definition.name) --base-url URL`")
        }
        try write { tx in
            if try tx.providerRowExists(definition.name) {
                throw KeywardenError(.conflict, "provider '\(definition.name)' already exists; change it with `keywarden provider set`")
            }
            try tx.insert(ProviderRecord(name: definition.name, builtin: false, definition: definition, baseUrl: nil, env: nil, updatedAt: now,
                                         allowInsecureHttp: definition.allowInsecureHTTP))
            try appendAudit(AuditDraft(action: "provider.add", provider: definition.name, outcome: "ok",
                                       detail: "base URL \(definition.baseURL)\(definition.allowInsecureHTTP ? Self.insecureNote : "")"), tx)
        }
    }

    /// Changes a provider's base URL or default variable (built-in or custom).
    /// `resetBaseURL` returns a built-in to its catalogue URL.
    /// `allowInsecureHTTP` accepts a plain `http://` URL to a host that is not
    /// loopback; a new base URL without it clears an earlier permission.
    public func updateProvider(_ name: String, baseURL: String?, env: String?, resetBaseURL: Bool = false,
                               allowInsecureHTTP: Bool = false) throws(KeywardenError) -> ProviderDefinition {
        if let env { try Names.require(Names.isEnvironmentVariable(env), "variable name", env, Names.envRule) }
        if allowInsecureHTTP && baseURL == nil {
            throw KeywardenError(.invalidInput, "--allow-insecure-http goes with the --base-url it allows")
        }
        let checkedURL: String? = if let baseURL { try Self.checkedBaseURL(baseURL, provider: name, allowInsecureHTTP: allowInsecureHTTP) } else { nil }
        let insecure = checkedURL.map { allowInsecureHTTP && Self.isInsecureHTTP($0) } ?? false
        guard checkedURL != nil || env != nil || resetBaseURL else {
            throw KeywardenError(.invalidInput, "nothing to change: pass --base-url URL, --reset-base-url or --env NAME")
        }
        return try write { tx in
            var current = try provider(named: name, tx)
            var row = try tx.providerRow(named: name)
                ?? ProviderRecord(name: name, builtin: true, definition: nil, baseUrl: nil, env: nil, updatedAt: now)
            var changes: [String] = []
            if row.builtin {
                if resetBaseURL { row.baseUrl = nil; row.allowInsecureHttp = false; changes.append("base URL reset") }
                if let checkedURL { row.baseUrl = checkedURL; row.allowInsecureHttp = insecure; changes.append("base URL \(checkedURL)\(insecure ? Self.insecureNote : "")") }
                if let env { row.env = env; changes.append("env \(env)") }
            } else {
                if let checkedURL { current.baseURL = checkedURL; row.allowInsecureHttp = insecure; changes.append("base URL \(checkedURL)\(insecure ? Self.insecureNote : "")") }
                if let env { current.env = env; changes.append("env \(env)") }
                row.definition = current
            }
            row.updatedAt = now
            try tx.save(row)
            try appendAudit(AuditDraft(action: "provider.set", provider: name, outcome: "ok", detail: changes.joined(separator: ", ")), tx)
            return try provider(named: name, tx)
        }
    }

    /// Removes a custom provider that no key uses.
    public func removeProvider(_ name: String) throws(KeywardenError) {
        try write { tx in
            guard let row = try tx.providerRow(named: name), !row.builtin else {
                if BuiltinProviders.named(name) != nil {
                    throw KeywardenError(.conflict, "'\(name)' is built in and cannot be removed")
                }
                throw KeywardenError.unknownProvider(name)
            }
            let keys = try tx.countKeys(KeyQuery(provider: name))
            guard keys == 0 else {
                throw KeywardenError(.conflict, "provider '\(name)' still has \(keys) key(s); remove them first (`keywarden key list --provider \(name)`)")
            }
            try tx.delete(row)
            try appendAudit(AuditDraft(action: "provider.remove", provider: name, outcome: "ok"), tx)
        }
    }

    /// Makes sure a row exists for a built-in provider so keys can refer to it.
    func ensureProviderRow(_ name: String, _ tx: any StoreWriting) throws {
        if try !tx.providerRowExists(name) {
            try tx.insert(ProviderRecord(name: name, builtin: true, definition: nil, baseUrl: nil, env: nil, updatedAt: now))
        }
    }

    static func apply(_ row: ProviderRecord?, to builtin: ProviderDefinition) -> ProviderDefinition {
        var definition = builtin
        if let url = row?.baseUrl { definition.baseURL = url }
        if let env = row?.env { definition.env = env }
        definition.allowInsecureHTTP = row?.allowInsecureHttp ?? false
        return definition
    }

    static func isOverridden(_ row: ProviderRecord?) -> Bool { row?.baseUrl != nil || row?.env != nil }

    /// A custom provider's definition, with the row's own columns applied.
    static func decodeDefinition(_ row: ProviderRecord) throws(KeywardenError) -> ProviderDefinition {
        guard var definition = row.definition else {
            throw KeywardenError(.integrity, "provider '\(row.name)' is a custom provider without a stored definition; restore the vault from a backup")
        }
        definition.allowInsecureHTTP = row.allowInsecureHttp
        return definition
    }

    /// Accepts `http(s)://host[:port][/path]`: no credentials, query or fragment
    /// (a base URL is logged and shown; it must not carry secrets). Plain
    /// `http://` is accepted for a loopback host, or any host when
    /// `allowInsecureHTTP` (keys would cross the network unencrypted).
    public static func checkedBaseURL(_ text: String, provider: String = "NAME", allowInsecureHTTP: Bool = false) throws(KeywardenError) -> String {
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let components = URLComponents(string: trimmed),
              let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = components.host, !host.isEmpty
        else {
            throw KeywardenError(.invalidInput, "invalid base URL '\(text)': expected http(s)://host[:port][/path]")
        }
        guard components.user == nil, components.password == nil else {
            throw KeywardenError(.invalidInput, "invalid base URL: it must not contain a user name or password")
        }
        guard components.query == nil, components.fragment == nil else {
            throw KeywardenError(.invalidInput, "invalid base URL '\(text)': it must not contain a query (?…) or fragment (#…)")
        }
        if scheme == "http", !LoopbackHost.contains(host), !allowInsecureHTTP {
            throw KeywardenError(.invalidInput, "refusing the plain http:// base URL '\(text)': keys sent to \(host) would cross the network unencrypted; use https://, or if the network path is trusted add --allow-insecure-http (`keywarden provider set \(provider) --base-url \(text) --allow-insecure-http`)")
        }
        return trimmed
    }

    /// Plain `http://` to a host that is not loopback.
    static func isInsecureHTTP(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "http", let host = components.host else { return false }
        return !LoopbackHost.contains(host)
    }

    /// How audit details mark an allowed plain-HTTP base URL.
    static let insecureNote = " (plain HTTP allowed by --allow-insecure-http)"
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

import Foundation
import KeywardenCrypto

/// A client credential for the agent, as listed (never the token itself).
public struct AgentToken: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var scopes: [String]
    /// Empty means every provider.
    public var providers: [String]
    /// The config entries it may read: names, or `["*"]` for every entry of
    /// its scopes. Empty (the default) means none, secret or plain.
    public var config: [String]
    public var createdAt: Timestamp
    public var expiresAt: Timestamp?
    public var revokedAt: Timestamp?
    public var lastUsedAt: Timestamp?
    /// A token for the gateway only (`run --gateway`): it forwards requests
    /// to providers and reads nothing through the rest of the agent's API.
    /// Such tokens live in the agent's memory, never in the vault.
    public var gatewayOnly: Bool

    enum CodingKeys: String, CodingKey {
        case id, name, scopes, providers, config, createdAt = "created_at", expiresAt = "expires_at", revokedAt = "revoked_at", lastUsedAt = "last_used_at"
        case gatewayOnly = "gateway_only"
    }

    /// A token held elsewhere than in the vault (the agent's in-memory run tokens).
    public init(id: String, name: String, scopes: [String], providers: [String], config: [String] = [], createdAt: Timestamp,
                expiresAt: Timestamp?, revokedAt: Timestamp? = nil, lastUsedAt: Timestamp? = nil, gatewayOnly: Bool = false) {
        self.id = id
        self.name = name
        self.scopes = scopes
        self.providers = providers
        self.config = config
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
        self.gatewayOnly = gatewayOnly
    }

    // `gateway_only` is written only when true, so a stored or listed
    // token's JSON is what it was before the field existed, and JSON
    // without it reads as false.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        scopes = try c.decode([String].self, forKey: .scopes)
        providers = try c.decode([String].self, forKey: .providers)
        config = try c.decode([String].self, forKey: .config)
        createdAt = try c.decode(Timestamp.self, forKey: .createdAt)
        expiresAt = try c.decodeIfPresent(Timestamp.self, forKey: .expiresAt)
        revokedAt = try c.decodeIfPresent(Timestamp.self, forKey: .revokedAt)
        lastUsedAt = try c.decodeIfPresent(Timestamp.self, forKey: .lastUsedAt)
        gatewayOnly = try c.decodeIfPresent(Bool.self, forKey: .gatewayOnly) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(scopes, forKey: .scopes)
        try c.encode(providers, forKey: .providers)
        try c.encode(config, forKey: .config)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(expiresAt, forKey: .expiresAt)
        try c.encodeIfPresent(revokedAt, forKey: .revokedAt)
        try c.encodeIfPresent(lastUsedAt, forKey: .lastUsedAt)
        if gatewayOnly { try c.encode(true, forKey: .gatewayOnly) }
    }

    /// Tokens look like `kwt_` + 43 base64url characters (32 random bytes).
    public static let secretPrefix = "kwt_"

    /// A new random token secret (`kwt_…`), in guarded memory: the one
    /// generator for the vault's tokens and the agent's run tokens.
    public static func newSecret() -> SecureBytes {
        let random = SecureBytes.random(count: 32)
        var raw = random.copyBytes()
        defer { Secrets.wipe(&raw) }
        var text = Array((secretPrefix + Data(raw).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")).utf8)
        defer { Secrets.wipe(&text) }
        return SecureBytes(copying: text)
    }

    /// Whether the token may read `scope` (exactly one of its scopes).
    public func allows(scope: String) -> Bool { scopes.contains(scope) }

    /// Whether the token may read keys of `provider`.
    public func allows(provider: String) -> Bool { providers.isEmpty || providers.contains(provider) }

    /// Whether the token may read the config entry `name` (in a scope it may read).
    public func allows(config name: String) -> Bool { config.contains("*") || config.contains(name) }

    /// Whether the token may see or act on a key of `provider` in `scope`.
    public func allows(provider: String, scope: String) -> Bool { allows(scope: scope) && allows(provider: provider) }

    init(_ r: AgentTokenRecord) {
        id = r.id
        name = r.name
        scopes = r.scopes
        providers = r.providers
        config = r.config
        createdAt = r.createdAt
        expiresAt = r.expiresAt
        revokedAt = r.revokedAt
        lastUsedAt = r.lastUsedAt
        gatewayOnly = false
    }
}

/// Why a presented token was refused.
public enum TokenRejection: Error, Sendable, Equatable {
    case unknown, revoked(name: String), expired(name: String)

    public var reason: String {
        switch self {
        case .unknown: "the token is not valid"
        case .revoked(let name): "token '\(name)' was revoked"
        case .expired(let name): "token '\(name)' has expired"
        }
    }
}

extension Vault {
    /// Tokens look like `kwt_` + 43 base64url characters (32 random bytes).
    static let tokenPrefix = AgentToken.secretPrefix

    /// Creates a token and returns it with the one and only copy of its secret.
    /// `config` lists the config entries it may read (`["*"]`: all; empty: none).
    public func createToken(name: String, scopes: [String], providers: [String], config: [String] = [], ttl: DurationSpec?) throws(KeywardenError) -> (AgentToken, SecureBytes) {
        guard Names.isLabel(name), name.utf8.count <= 64 else { throw .invalidName("token name", name, "use 1 to 64 printable characters") }
        guard !scopes.isEmpty else { throw KeywardenError(.invalidInput, "a token needs at least one --scope") }
        for scope in scopes { try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule) }
        for entry in config where entry != "*" {
            try Names.require(Names.isEnvironmentVariable(entry), "config name", entry, Names.envRule)
        }
        let tokenBytes = AgentToken.newSecret()
        let hash = tokenHash(tokenBytes)
        let record: AgentTokenRecord = try write { tx in
            for scope in scopes where try !tx.scopeExists(scope) { throw KeywardenError.unknownScope(scope) }
            for provider in providers { _ = try self.provider(named: provider, tx) }
            if try tx.tokenNameExists(name) {
                throw KeywardenError(.conflict, "a token named '\(name)' already exists; revoke it first or choose another name")
            }
            let record = AgentTokenRecord(
                id: Self.newIdentifier(prefix: "t_"), name: name, hash: hash, scopes: scopes, providers: providers, config: config,
                createdAt: now, expiresAt: ttl.map { context.clock().adding(seconds: $0.seconds) }, revokedAt: nil, lastUsedAt: nil)
            try tx.insert(record)
            try appendAudit(AuditDraft(action: "token.create", outcome: "ok",
                                       detail: "\(name): scopes \(scopes.joined(separator: ",")), providers \(providers.isEmpty ? "all" : providers.joined(separator: ",")), config \(config.isEmpty ? "none" : config.contains("*") ? "all" : config.joined(separator: ","))\(ttl.map { ", expires in \($0)" } ?? "")"), tx)
            return record
        }
        return (AgentToken(record), tokenBytes)
    }

    public func listTokens() throws(KeywardenError) -> [AgentToken] {
        try read { tx in try tx.tokens().map(AgentToken.init) }
    }

    /// Revokes a token by name or id.
    public func revokeToken(_ nameOrID: String) throws(KeywardenError) -> AgentToken {
        try write { tx in
            guard var record = try tx.token(nameOrID: nameOrID) else {
                throw KeywardenError(.notFound, "no token named '\(nameOrID)'; see `keywarden token list`")
            }
            if record.revokedAt == nil {
                record.revokedAt = now
                try tx.update(record)
                try appendAudit(AuditDraft(action: "token.revoke", outcome: "ok", detail: record.name), tx)
            }
            return AgentToken(record)
        }
    }

    /// Finds the token a client presented. The lookup is by keyed hash (the
    /// database never sees the token), then compared in constant time.
    public func authenticate(token presented: SecureBytes) throws(KeywardenError) -> Result<AgentToken, TokenRejection> {
        let hash = tokenHash(presented)
        let record: AgentTokenRecord? = try read { tx in try tx.token(hash: hash) }
        guard let record, constantTimeEquals(Array(record.hash.utf8), Array(hash.utf8)) else { return .failure(.unknown) }
        let token = AgentToken(record)
        if token.revokedAt != nil { return .failure(.revoked(name: token.name)) }
        if let expires = token.expiresAt, expires <= context.clock() { return .failure(.expired(name: token.name)) }
        return .success(token)
    }

    /// Records that a token was used (`agent_tokens.last_used_at`). The agent
    /// calls it at most once a minute per token, off the request's path; it is
    /// bookkeeping, not an audit event, and touches no other column.
    public func markTokenUsed(id: String, at time: Timestamp) throws(KeywardenError) {
        try write { tx in try tx.markTokenUsed(id: id, at: time) }
    }

    func tokenHash(_ token: SecureBytes) -> String {
        ((try? KeyedHash.hash(token, key: masterKey.derive(.tokenHash))) ?? []).hexString
    }
}

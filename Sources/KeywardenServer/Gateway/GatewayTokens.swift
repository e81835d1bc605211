import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore
import KeywardenCrypto
import NIOConcurrencyHelpers
import NIOPosix

/// Where a gateway request carries its Keywarden token: wherever the
/// provider's SDK puts its key, so a program sets its usual API-key variable
/// to the token and changes nothing else.
struct PresentedCredential {
    /// The token's bytes. Not in guarded memory: the request's headers hold
    /// them anyway, and a guarded allocation per request (mmap, mlock,
    /// mprotect, munmap) costs more than the rest of the check. Copied into
    /// guarded memory only for the vault's own check (``secret``).
    var bytes: [UInt8]
    /// It came in the query (`?key=`), which must not be forwarded.
    var inQuery: Bool

    static let headerNames: [HTTPField.Name] = [.authorization, HTTPField.Name("x-api-key")!, HTTPField.Name("x-goog-api-key")!, HTTPField.Name("api-key")!]

    /// The credential of `request`, nil when it carries none. A provider key
    /// instead of a token, or two different tokens, is refused: neither is
    /// ever forwarded (every credential header is dropped anyway).
    static func of(_ request: Request) throws(GatewayRefusal) -> PresentedCredential? {
        try of(headers: request.headers, query: request.uri.query)
    }

    /// The same, from a request's fields and query.
    static func of(headers: HTTPFields, query: String?) throws(GatewayRefusal) -> PresentedCredential? {
        var found: [Substring] = []
        var inQuery = false
        for name in headerNames {
            for value in headers[values: name] {
                var text = Substring(value)
                if name == .authorization {
                    guard text.hasPrefix("Bearer ") || text.hasPrefix("bearer ") else {
                        throw GatewayRefusal(status: .unauthorized, kind: "denied", "this is the Keywarden gateway: send a Keywarden token (Authorization: Bearer kwt_…)")
                    }
                    text = text.dropFirst(7)
                }
                found.append(text.drop { $0 == " " })
            }
        }
        if let query {
            for pair in query.split(separator: "&") where pair.hasPrefix("key=") {
                found.append(pair.dropFirst(4))
                inQuery = true
            }
        }
        guard let first = found.first else { return nil }
        guard first.hasPrefix(AgentToken.secretPrefix) else {
            throw GatewayRefusal(status: .unauthorized, kind: "denied", "this is the Keywarden gateway: send a Keywarden token (kwt_…), not a provider key; the gateway adds the key")
        }
        for other in found.dropFirst() where other != first {
            throw GatewayRefusal(status: .badRequest, kind: "invalidInput", "the request carries two different credentials; send one Keywarden token")
        }
        return PresentedCredential(bytes: Array(first.utf8), inQuery: inQuery)
    }

    /// The token in guarded memory, for the vault's check.
    var secret: SecureBytes { SecureBytes(copying: bytes) }
}

/// Checks gateway tokens: the agent's run tokens (memory only) first, then
/// the vault's tokens. A vault token's check is a database read, too slow
/// for every proxied request, so its result is kept — by a keyed hash of
/// the token, never the token — until the vault changes other than by the
/// agent's audit commits (a revocation is such a change); expiry is checked
/// on every use.
final class GatewayTokens: Sendable {
    private let state: AgentState
    private let pool: NIOThreadPool
    let runTokens: RunTokens?
    /// The run tokens' key when there are run tokens: one hash serves both lookups.
    private let hashKey: SymmetricKey
    private let cache = NIOLockedValueBox<(generation: Int?, tokens: [[UInt8]: Result<AgentToken, TokenRejection>])>((nil, [:]))

    init(state: AgentState, pool: NIOThreadPool, runTokens: RunTokens?) {
        self.state = state
        self.pool = pool
        self.runTokens = runTokens
        hashKey = runTokens?.hashKey ?? SymmetricKey.random()
    }

    /// The token `presented` names when that is known without waiting: a
    /// run token, or a vault token whose check is held for the vault's
    /// current state. nil on a miss (the async ``check(_:)`` fills the
    /// cache), when the agent is locked, or for a refused token: those take
    /// the slow path, which answers and audits them.
    /// `generation`: the vault's (``ActiveKeyCache/generation()``), read
    /// once per request by the caller, as ``Gateway/heldPool(provider:scope:generation:)`` needs it too.
    func cachedCheck(_ presented: PresentedCredential, generation: Int) -> AgentToken? {
        guard let hash = try? KeyedHash.hash([presented.bytes], key: hashKey) else { return nil }
        if let run = runTokens?.authenticate(presented.bytes, hash: hash) { return run }
        guard let vault = state.current else { return nil }
        let held = cache.withLockedValue { cache in cache.generation == generation ? cache.tokens[hash] : nil }
        guard case .success(let token) = held else { return nil }
        if let expires = token.expiresAt, expires <= vault.context.clock() { return nil }
        return token
    }

    /// The token `presented` names, or why it is refused.
    func check(_ presented: PresentedCredential) async throws -> Result<AgentToken, TokenRejection> {
        if let run = runTokens?.authenticate(presented.bytes) { return .success(run) }
        guard let vault = state.current else { throw KeywardenError.agentLocked }
        // Without a hash there is no safe cache slot: check the vault every time.
        guard let hash = try? KeyedHash.hash([presented.bytes], key: hashKey) else {
            let secret = presented.secret
            return try await pool.runIfActive { try vault.authenticate(token: secret) }
        }
        let generation = state.cache.generation()
        let held = cache.withLockedValue { cache -> Result<AgentToken, TokenRejection>? in
            if cache.generation != generation { cache = (generation, [:]) }
            return cache.tokens[hash]
        }
        let result: Result<AgentToken, TokenRejection>
        if let held {
            result = held
        } else {
            let secret = presented.secret
            result = try await pool.runIfActive { try vault.authenticate(token: secret) }
            cache.withLockedValue { cache in
                if cache.generation == generation, cache.tokens.count < 10_000 { cache.tokens[hash] = result }
            }
        }
        if case .success(let token) = result, let expires = token.expiresAt, expires <= vault.context.clock() {
            return .failure(.expired(name: token.name))
        }
        return result
    }
}

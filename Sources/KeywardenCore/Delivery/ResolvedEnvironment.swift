import Foundation
import KeywardenCrypto

/// A variable delivered to a program: an active key under its variable name,
/// or a config entry.
public struct DeliveredVariable: Sendable {
    public enum Origin: Sendable {
        case key(id: String, provider: String, fingerprint: String)
        case config(id: String, secret: Bool)
    }

    public var name: String
    /// The scope that defines it (the requested one or an ancestor).
    public var scope: String
    public var origin: Origin
    /// The decrypted value; nil in metadata-only listings.
    public var value: SecureBytes?
}

extension Vault {
    /// The variables of a scope, as a program would receive them: for each
    /// provider the nearest active key (the scope's own, else its parent's…),
    /// for each config name the nearest entry; on a name defined in several
    /// scopes the nearest scope wins. Sorted by name. With `only`, just those
    /// names (each must exist). Values are decrypted only for what is returned.
    /// `visible` hides variables from a caller with a narrower grant (an agent
    /// token): they are left out after the nearest-scope choice, and naming
    /// one in `only` fails exactly as naming one that does not exist.
    /// Admin keys (`key add --admin`) are left out unless `includeAdmin`
    /// (`export --include-admin`): as if they were not there.
    public func resolveEnvironment(scope: String, only: [String]? = nil, decrypt: Bool = true, includeAdmin: Bool = false,
                                   visible: (DeliveredVariable) -> Bool = { _ in true }) throws(KeywardenError) -> [DeliveredVariable] {
        try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule)
        let nearest: [(variable: DeliveredVariable, sealed: (nonce: [UInt8], ciphertext: [UInt8], binding: RowBinding))] = try read { tx in
            let chain = try scopeChain(scope, tx)
            var byName: [String: (depth: Int, variable: DeliveredVariable, sealed: (nonce: [UInt8], ciphertext: [UInt8], binding: RowBinding))] = [:]
            var providersSeen = Set<String>()
            for (depth, level) in chain.enumerated() {
                let keys = try tx.keys(KeyQuery(scope: level, states: [.active], order: .provider))
                for key in keys where !providersSeen.contains(key.provider) && (includeAdmin || key.role != .admin) {
                    providersSeen.insert(key.provider)
                    if byName[key.env] == nil {
                        byName[key.env] = (depth, DeliveredVariable(name: key.env, scope: level, origin: .key(id: key.id, provider: key.provider, fingerprint: key.fingerprint), value: nil),
                                           (Array(key.nonce), Array(key.ciphertext), RowBinding(key: key)))
                    }
                }
                for entry in try tx.configEntries(scope: level) where byName[entry.name] == nil {
                    byName[entry.name] = (depth, DeliveredVariable(name: entry.name, scope: level, origin: .config(id: entry.id, secret: entry.secret), value: nil),
                                          (Array(entry.nonce), Array(entry.ciphertext), RowBinding(config: entry)))
                }
            }
            return byName.values.sorted { $0.variable.name < $1.variable.name }.map { ($0.variable, $0.sealed) }
        }
        let candidates = nearest.filter { visible($0.variable) }
        var selected = candidates
        if let only {
            let known = Set(candidates.map(\.variable.name))
            if let missing = only.first(where: { !known.contains($0) }) {
                throw KeywardenError(.notFound, "\(missing) is not a variable of scope \(scope) (no active key or config entry by that name there or in its parents); see `keywarden key list --scope \(scope)` and `keywarden config list --scope \(scope)`")
            }
            let wanted = Set(only)
            selected = candidates.filter { wanted.contains($0.variable.name) }
        }
        guard decrypt else { return selected.map(\.variable) }
        // The scope's values in one guarded region (SecureArena), not a
        // sodium_malloc each: an export of 10,000 values mapped 10,000 regions.
        let arena = SecureArena(for: selected.map { max(0, $0.sealed.ciphertext.count - AEAD.tagByteCount) })
        var result: [DeliveredVariable] = []
        result.reserveCapacity(selected.count)
        for candidate in selected {
            var variable = candidate.variable
            variable.value = try open(nonce: Data(candidate.sealed.nonce), ciphertext: Data(candidate.sealed.ciphertext), for: candidate.sealed.binding,
                                      into: arena)
            result.append(variable)
        }
        return result
    }

    /// Records that `variables` were delivered (`export`, `run`, `inject`) to
    /// `destination` (a file, `stdout`, a command name): one event per key, so
    /// `audit --key ID` shows where a key went, plus one for config entries.
    /// Names, ids and fingerprints only.
    public func recordDelivery(_ variables: [DeliveredVariable], action: String, scope: String, destination: String) throws(KeywardenError) {
        try write { tx in
            var configNames: [String] = []
            for variable in variables {
                switch variable.origin {
                case .key(let id, let provider, let fingerprint):
                    try appendAudit(AuditDraft(action: action, provider: provider, scope: scope, keyID: id, fingerprint: fingerprint, outcome: "ok",
                                               detail: "as \(variable.name)\(variable.scope != scope ? " (from \(variable.scope))" : "") to \(destination)"), tx)
                case .config:
                    configNames.append(variable.name)
                }
            }
            if !configNames.isEmpty || variables.isEmpty {
                try appendAudit(AuditDraft(action: action, scope: scope, outcome: "ok",
                                           detail: "config \(configNames.isEmpty ? "(none)" : configNames.joined(separator: ", ")) to \(destination)"), tx)
            }
        }
    }
}

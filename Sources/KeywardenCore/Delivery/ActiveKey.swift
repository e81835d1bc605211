import Foundation
import KeywardenCrypto

extension Vault {
    /// The active key of `provider` for `scope`: the scope's own, else the
    /// nearest parent's. Decrypts only that key (the agent's hot path).
    public func resolveActiveKey(provider: String, scope: String) throws(KeywardenError) -> (KeyInfo, SecureBytes) {
        try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule)
        let record: KeyRecord = try read { tx in
            for level in try scopeChain(scope, tx) {
                // An admin key is never handed out as a pool's key.
                if let record = try tx.keys(.pool(Pool(provider: provider, scope: level), states: [.active])).first, record.role != .admin {
                    return record
                }
            }
            _ = try self.provider(named: provider, tx)
            throw KeywardenError(.notFound, "no active \(provider) key for scope \(scope) (or its parents); see `keywarden key list --scope \(scope)`")
        }
        let value = try open(nonce: record.nonce, ciphertext: record.ciphertext, for: RowBinding(key: record))
        return (KeyInfo(record), value)
    }
}

import Foundation
import GRDB
import KeywardenCrypto

extension Vault {
    /// The active key of `provider` for `scope`: the scope's own, else the
    /// nearest parent's. Decrypts only that key (the agent's hot path).
    public func resolveActiveKey(provider: String, scope: String) throws(KeywardenError) -> (KeyInfo, SecureBytes) {
        try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule)
        let record: KeyRecord = try read { db in
            for level in try scopeChain(scope, db) {
                if let record = try KeyRecord.filter(Column("provider") == provider && Column("scope") == level && Column("state") == KeyState.active.rawValue).fetchOne(db) {
                    return record
                }
            }
            _ = try self.provider(named: provider, db)
            throw KeywardenError(.notFound, "no active \(provider) key for scope \(scope) (or its parents); see `keywarden key list --scope \(scope)`")
        }
        let value = try open(nonce: record.nonce, ciphertext: record.ciphertext, for: RowBinding(key: record))
        return (KeyInfo(record), value)
    }
}

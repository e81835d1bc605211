import Foundation
import KeywardenCrypto

/// The row a sealed value belongs to. Its fields form the associated data of
/// the ciphertext: a ciphertext copied to another row, another scope or
/// provider, or rolled back to another version no longer opens.
struct RowBinding {
    enum Kind: String { case key, config }
    var kind: Kind
    var rowID: String
    var provider: String
    var scope: String
    var name: String
    var version: Int64

    func associatedData(vaultID: String) -> [UInt8] {
        BoundFields(["keywarden/value/v1", vaultID, kind.rawValue, rowID, provider, scope, name, String(version)]).bytes
    }

    /// How the row is named in errors: `key k_ab12 (anthropic/prod)`.
    var description: String {
        switch kind {
        case .key: "key \(rowID) (\(provider)/\(scope))"
        case .config: "config entry \(name) in scope \(scope) (\(rowID))"
        }
    }

    init(key r: KeyRecord) {
        self.init(kind: .key, rowID: r.id, provider: r.provider, scope: r.scope, name: r.env, version: r.version)
    }

    init(config r: ConfigEntryRecord) {
        self.init(kind: .config, rowID: r.id, provider: "", scope: r.scope, name: r.name, version: r.version)
    }

    init(kind: Kind, rowID: String, provider: String, scope: String, name: String, version: Int64) {
        self.kind = kind
        self.rowID = rowID
        self.provider = provider
        self.scope = scope
        self.name = name
        self.version = version
    }
}

extension Vault {
    func seal(_ value: SecureBytes, for row: RowBinding) throws(KeywardenError) -> SealedBox {
        do {
            return try AEAD.seal(value, key: sealingKey, associatedData: row.associatedData(vaultID: vaultID))
        } catch {
            throw KeywardenError(.failed, "cannot seal \(row.description): \(error)")
        }
    }

    func open(nonce: Data, ciphertext: Data, for row: RowBinding, into arena: SecureArena? = nil) throws(KeywardenError) -> SecureBytes {
        do {
            return try AEAD.open(SealedBox(nonce: Array(nonce), ciphertext: Array(ciphertext)), key: sealingKey,
                                 associatedData: row.associatedData(vaultID: vaultID), into: arena)
        } catch {
            throw .tamperedValue(row.description)
        }
    }

    /// The keyed BLAKE2b fingerprint of a value, as 64 hex digits.
    public func fingerprint(of value: SecureBytes) -> String {
        // Hashing with a valid 32-byte key cannot fail once libsodium is ready,
        // which it is: the vault was unlocked with it.
        ((try? KeyedHash.hash(value, key: fingerprintKey)) ?? []).hexString
    }

    /// A fresh identifier: a prefix and 10 lower-case base-32 characters.
    static func newIdentifier(prefix: String) -> String {
        let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")
        return prefix + String((0..<10).map { _ in alphabet[Int(randomUniform(32))] })
    }
}

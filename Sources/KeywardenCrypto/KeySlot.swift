/// Wrapping and unwrapping the master key, as LUKS keyslots do: each slot holds
/// the same master key sealed under a different key-encryption key (one from a
/// passphrase through Argon2id, one from a keyfile). Changing a passphrase
/// rewraps the master key; nothing else in the vault changes.
public enum KeyWrapping {
    /// Seals the master key under a key-encryption key.
    public static func wrap(_ master: SymmetricKey, with kek: SymmetricKey, associatedData: [UInt8]) throws(CryptoError) -> SealedBox {
        try AEAD.seal(master.bytes, key: kek, associatedData: associatedData)
    }

    /// Opens a wrapped master key, or throws `.authenticationFailed` when the
    /// key-encryption key is wrong.
    public static func unwrap(_ box: SealedBox, with kek: SymmetricKey, associatedData: [UInt8]) throws(CryptoError) -> SymmetricKey {
        try SymmetricKey(AEAD.open(box, key: kek, associatedData: associatedData))
    }
}

import CSodium

/// A 256-bit key held in guarded memory. The master key, the keys that wrap it
/// and the subkeys derived from it are all of this type, never plain arrays.
public struct SymmetricKey: Sendable {
    /// The size of every key in Keywarden: 32 bytes.
    public static let byteCount = 32

    let bytes: SecureBytes

    /// A fresh random key.
    public static func random() -> SymmetricKey {
        SymmetricKey(unchecked: SecureBytes.random(count: byteCount))
    }

    /// Wraps existing key bytes (a keyfile's contents, an unwrapped master key).
    public init(_ bytes: SecureBytes) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidLength(what: "key", expected: Self.byteCount, actual: bytes.count)
        }
        self.bytes = bytes
    }

    init(unchecked bytes: SecureBytes) { self.bytes = bytes }

    /// Derives an independent subkey for one purpose (`crypto_kdf`): the value
    /// key, the fingerprint key and the audit key never equal each other or the
    /// master key, so a leak of one use does not compromise the others.
    public func derive(_ purpose: KeyPurpose) -> SymmetricKey {
        let sub = SecureBytes(count: Self.byteCount) { out in
            bytes.withUnsafeBytes { master in
                let context = purpose.context
                _ = context.withCString { ctx in
                    crypto_kdf_derive_from_key(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self), Self.byteCount,
                        purpose.subkeyID, ctx,
                        master.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        return SymmetricKey(unchecked: sub)
    }

    /// Constant-time comparison.
    public func constantTimeEquals(_ other: SymmetricKey) -> Bool { bytes.constantTimeEquals(other.bytes) }

    /// Exposes the raw key bytes; only for writing a new keyfile.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { buffer in try body(buffer) }
    }
}

/// What a derived subkey is for. The (id, context) pairs are part of the vault
/// format: changing one makes existing vaults unreadable.
public enum KeyPurpose: Sendable {
    /// Seals stored values (keys, config entries).
    case valueSealing
    /// Keyed BLAKE2b fingerprints of key values.
    case fingerprint
    /// Keyed hash chain of the audit trail.
    case auditChain
    /// Keyed hashes of agent tokens.
    case tokenHash
    /// MACs over security-relevant rows (providers, policies, key states,
    /// tokens, …), the audit head and its anchor outside the vault file.
    case rowAuthentication

    var subkeyID: UInt64 {
        switch self {
        case .valueSealing: 1
        case .fingerprint: 2
        case .auditChain: 3
        case .tokenHash: 4
        case .rowAuthentication: 5
        }
    }

    /// `crypto_kdf` contexts are exactly 8 bytes.
    var context: String {
        switch self {
        case .valueSealing: "kw-value"
        case .fingerprint: "kw-fingr"
        case .auditChain: "kw-audit"
        case .tokenHash: "kw-token"
        case .rowAuthentication: "kw-rowmc"
        }
    }
}

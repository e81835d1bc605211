import CSodium

/// A ciphertext with its nonce, as stored in a row.
public struct SealedBox: Sendable, Equatable {
    /// 24 random bytes (XChaCha20's 192-bit nonce: safe to choose at random).
    public let nonce: [UInt8]
    /// The ciphertext followed by its 16-byte Poly1305 tag.
    public let ciphertext: [UInt8]

    public init(nonce: [UInt8], ciphertext: [UInt8]) {
        self.nonce = nonce
        self.ciphertext = ciphertext
    }
}

/// XChaCha20-Poly1305-IETF, libsodium's recommended AEAD.
public enum AEAD {
    public static let nonceByteCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagByteCount = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    /// Seals `plaintext` under `key` with a fresh random nonce. The associated
    /// data is authenticated but not stored: the opener must present the same
    /// bytes, which is what binds a ciphertext to its row.
    public static func seal(_ plaintext: SecureBytes, key: SymmetricKey, associatedData: [UInt8]) throws(CryptoError) -> SealedBox {
        try Sodium.ready()
        var nonce = [UInt8](repeating: 0, count: nonceByteCount)
        randombytes_buf(&nonce, nonceByteCount)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
        var written: UInt64 = 0
        let rc = plaintext.withUnsafeBytes { message in
            key.bytes.withUnsafeBytes { k in
                crypto_aead_xchacha20poly1305_ietf_encrypt(
                    &ciphertext, &written,
                    message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count),
                    associatedData, UInt64(associatedData.count),
                    nil, nonce,
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard rc == 0 else { throw .authenticationFailed }
        return SealedBox(nonce: nonce, ciphertext: Array(ciphertext.prefix(Int(written))))
    }

    /// Opens a sealed box into guarded memory, or throws
    /// `.authenticationFailed` when the key, the bytes or the associated data
    /// differ from those used to seal it.
    /// With an `arena`, the plaintext goes into it (``SecureArena``).
    public static func open(_ box: SealedBox, key: SymmetricKey, associatedData: [UInt8], into arena: SecureArena? = nil) throws(CryptoError) -> SecureBytes {
        try Sodium.ready()
        guard box.nonce.count == nonceByteCount else {
            throw .invalidLength(what: "nonce", expected: nonceByteCount, actual: box.nonce.count)
        }
        guard box.ciphertext.count >= tagByteCount else { throw .authenticationFailed }
        let plainCount = box.ciphertext.count - tagByteCount
        var rc: Int32 = -1
        let plaintext = SecureBytes(count: plainCount, in: arena) { out in
            var written: UInt64 = 0
            rc = key.bytes.withUnsafeBytes { k in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    out.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafeMutablePointer<UInt8>(bitPattern: 1),
                    &written, nil,
                    box.ciphertext, UInt64(box.ciphertext.count),
                    associatedData, UInt64(associatedData.count),
                    box.nonce,
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard rc == 0 else { throw .authenticationFailed }
        return plaintext
    }
}

import CSodium

/// Argon2id cost parameters, stored beside each passphrase slot's salt so a
/// vault opens with the parameters it was created with.
public struct PasswordHashParameters: Sendable, Equatable, Codable {
    /// Number of passes (`opslimit`).
    public let opsLimit: UInt64
    /// Memory in bytes (`memlimit`).
    public let memLimit: UInt64

    public init(opsLimit: UInt64, memLimit: UInt64) {
        self.opsLimit = opsLimit
        self.memLimit = memLimit
    }

    /// libsodium's named levels: 64 MiB/2 passes, 256 MiB/3, 1 GiB/4.
    public static let interactive = PasswordHashParameters(
        opsLimit: UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE), memLimit: UInt64(crypto_pwhash_MEMLIMIT_INTERACTIVE))
    public static let moderate = PasswordHashParameters(
        opsLimit: UInt64(crypto_pwhash_OPSLIMIT_MODERATE), memLimit: UInt64(crypto_pwhash_MEMLIMIT_MODERATE))
    public static let sensitive = PasswordHashParameters(
        opsLimit: UInt64(crypto_pwhash_OPSLIMIT_SENSITIVE), memLimit: UInt64(crypto_pwhash_MEMLIMIT_SENSITIVE))
}

/// Turns a passphrase into a key with Argon2id (`crypto_pwhash`).
public enum PasswordHashing {
    public static let saltByteCount = Int(crypto_pwhash_SALTBYTES)

    /// A fresh random salt.
    public static func randomSalt() -> [UInt8] {
        var salt = [UInt8](repeating: 0, count: saltByteCount)
        randombytes_buf(&salt, saltByteCount)
        return salt
    }

    /// Derives a 32-byte key from `passphrase`. Costly by design (tenths of a
    /// second at `moderate`).
    public static func deriveKey(passphrase: SecureBytes, salt: [UInt8], parameters: PasswordHashParameters) throws(CryptoError) -> SymmetricKey {
        try Sodium.ready()
        guard salt.count == saltByteCount else {
            throw .invalidLength(what: "salt", expected: saltByteCount, actual: salt.count)
        }
        var rc: Int32 = -1
        let key = SecureBytes(count: SymmetricKey.byteCount) { out in
            rc = passphrase.withUnsafeBytes { pw in
                guard let base = pw.baseAddress else { return -1 }
                return crypto_pwhash(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(SymmetricKey.byteCount),
                    base.assumingMemoryBound(to: CChar.self), UInt64(pw.count),
                    salt, parameters.opsLimit, Int(parameters.memLimit),
                    crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard rc == 0 else { throw .passwordHashingFailed }
        return SymmetricKey(unchecked: key)
    }
}

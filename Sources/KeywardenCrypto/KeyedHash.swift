import CSodium

/// Keyed BLAKE2b (`crypto_generichash`): fingerprints of key values, the audit
/// hash chain and token hashes. Without the key, a hash reveals nothing and
/// cannot be recomputed by someone who only has the database file.
public enum KeyedHash {
    public static let byteCount = 32

    /// Hashes the concatenation of `parts` under `key`.
    public static func hash(_ parts: [[UInt8]], key: SymmetricKey) throws(CryptoError) -> [UInt8] {
        try Sodium.ready()
        // The streaming state is 64-byte aligned and opaque to Swift; the inputs
        // here (hashes, event fields) are small and not secret, so concatenate.
        let message = parts.flatMap { $0 }
        var out = [UInt8](repeating: 0, count: byteCount)
        key.bytes.withUnsafeBytes { k in
            _ = crypto_generichash(&out, byteCount, message, UInt64(message.count),
                                   k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count)
        }
        return out
    }

    /// Hashes a secret that lives in guarded memory.
    public static func hash(_ secret: SecureBytes, key: SymmetricKey) throws(CryptoError) -> [UInt8] {
        try Sodium.ready()
        var out = [UInt8](repeating: 0, count: byteCount)
        secret.withUnsafeBytes { message in
            key.bytes.withUnsafeBytes { k in
                _ = crypto_generichash(
                    &out, byteCount,
                    message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count),
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count)
            }
        }
        return out
    }
}

extension Array where Element == UInt8 {
    /// Lower-case hexadecimal.
    public var hexString: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var chars = [UInt8]()
        chars.reserveCapacity(count * 2)
        for byte in self {
            chars.append(digits[Int(byte >> 4)])
            chars.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: chars, as: UTF8.self)
    }

    /// Parses lower- or upper-case hexadecimal; nil if malformed.
    public init?(hexString: String) {
        let utf8 = Array(hexString.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        self = bytes
    }
}

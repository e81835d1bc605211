import KeywardenCrypto

/// Human hints for keys: a known provider prefix and the last four characters
/// (`sk-ant-…9QxA`). Short values reveal less, so a hint never gives away a
/// meaningful part of a key.
public enum KeyHint {
    /// Prefixes recognised for any provider when the provider declares none.
    static let genericPrefixes = ["sk-", "pk-", "key-", "tok-"]

    /// The hint for `value`, read in place from guarded memory: only the
    /// prefix comparison and the (at most four) tail bytes are ever copied out.
    public static func make(for value: SecureBytes, prefixes: [String]) -> String {
        value.withUnsafeBytes { bytes in
            let count = bytes.count
            let tailLength = count >= 16 ? 4 : (count >= 10 ? 2 : 0)
            let tail = bytes[(count - tailLength)...]
            guard tail.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return "…" }
            let prefix = (prefixes + genericPrefixes).first { p in
                // Only show a prefix when plenty of the key remains hidden.
                count >= p.utf8.count + 16 && bytes.starts(with: p.utf8)
            } ?? ""
            return prefix + "…" + String(decoding: tail, as: UTF8.self)
        }
    }
}

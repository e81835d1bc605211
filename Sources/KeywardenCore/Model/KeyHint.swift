import KeywardenCrypto

/// Human hints for keys: a known provider prefix and the last four characters
/// (`sk-ant-…9QxA`). Short values reveal less, so a hint never gives away a
/// meaningful part of a key.
public enum KeyHint {
    /// Prefixes recognised for any provider when the provider declares none.
    static let genericPrefixes = ["sk-", "pk-", "key-", "tok-"]

    public static func make(for value: SecureBytes, prefixes: [String]) -> String {
        value.withUnsafeBytes { raw in
            let bytes = Array(raw)
            let count = bytes.count
            let tailLength = count >= 16 ? 4 : (count >= 10 ? 2 : 0)
            let tail = bytes.suffix(tailLength)
            guard tail.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return "…" }
            let prefix = (prefixes + genericPrefixes).first { p in
                let pb = Array(p.utf8)
                // Only show a prefix when plenty of the key remains hidden.
                return count >= pb.count + 16 && bytes.starts(with: pb)
            } ?? ""
            return prefix + "…" + String(decoding: tail, as: UTF8.self)
        }
    }
}

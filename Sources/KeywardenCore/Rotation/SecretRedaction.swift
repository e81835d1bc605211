import Foundation
import KeywardenCrypto

/// Removes secret values from bytes a command printed (its stderr) before
/// they become text anywhere: an error message, a key's detail, the audit
/// trail, the CLI's output. A revoke command gets the old key on stdin and a
/// script under `set -x` echoes it; a rotate command may print the new key to
/// stderr too, or use the old one to create it.
///
/// Matching is on bytes, before any truncation (so a shortened message can
/// never keep half a key), and catches:
/// - the exact value;
/// - any run of at least `window` bytes of it (a key cut by a line limit, a
///   prefix or suffix printed on its own);
/// - the same for its base64 encodings (standard and URL-safe, at each of the
///   three alignments a value can have inside a longer base64 text, as in
///   `Authorization: Basic …`).
struct SecretRedactor {
    /// Shorter runs are too likely to be ordinary text (`sk-ant-api03-` alone
    /// is 13 bytes, and not a secret).
    static let window = 16
    static let marker = Array("[redacted]".utf8)
    static let shortest = 6

    private var forms: [[UInt8]] = []

    /// `secrets` are copied into forms that are wiped by `wipe()`.
    init(_ secrets: [SecureBytes]) {
        // A value of a few bytes (a stray `1` on stdout) would blank out
        // ordinary text; no key is that short.
        for secret in secrets where secret.count >= Self.shortest {
            var bytes = secret.copyBytes()
            forms.append(bytes)
            for alignment in 0..<3 {
                var padded = [UInt8](repeating: 0, count: alignment) + bytes
                for urlSafe in [false, true] {
                    var encoded = Array(Data(padded).base64EncodedString().utf8)
                    if urlSafe {
                        for i in encoded.indices {
                            if encoded[i] == UInt8(ascii: "+") { encoded[i] = UInt8(ascii: "-") }
                            if encoded[i] == UInt8(ascii: "/") { encoded[i] = UInt8(ascii: "_") }
                        }
                    }
                    // The first group mixes in the padding and the last one
                    // the bytes after the value: only the middle is certain.
                    let start = alignment == 0 ? 0 : 4
                    let end = max(start, encoded.count - 4)
                    if end - start >= Self.window { forms.append(Array(encoded[start..<end])) }
                    wipe(&encoded)
                }
                wipe(&padded)
            }
            wipe(&bytes)
        }
    }

    /// `text` with every match replaced by `[redacted]`.
    func redact(_ text: [UInt8]) -> [UInt8] {
        guard !forms.isEmpty, !text.isEmpty else { return text }
        var covered = [Bool](repeating: false, count: text.count)
        for form in forms {
            let minimum = min(Self.window, form.count)
            var i = 0
            while i < text.count {
                var longest = 0
                for j in form.indices where form[j] == text[i] {
                    var k = 0
                    while i + k < text.count, j + k < form.count, text[i + k] == form[j + k] { k += 1 }
                    longest = max(longest, k)
                }
                if longest >= minimum {
                    for position in i..<(i + longest) { covered[position] = true }
                    // Any match starting inside this one that reaches past
                    // its end has a suffix of `minimum` bytes starting here.
                    i += longest - minimum + 1
                } else {
                    i += 1
                }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if covered[i] {
                out += Self.marker
                while i < text.count, covered[i] { i += 1 }
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// Wipes the copies of the secrets.
    mutating func erase() {
        for i in forms.indices { KeywardenCrypto.wipe(&forms[i]) }
        forms.removeAll()
    }
}

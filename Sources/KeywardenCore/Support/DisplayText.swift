/// Free text from outside (a client's report detail, a command's stderr, a
/// provider's error body, a token name) made safe to store and to print on a
/// terminal. Used twice on purpose: when text is stored, so the audit trail
/// never holds escape sequences, and when it is printed, for rows stored by
/// older versions or written into the file by someone else.
public enum DisplayText {
    /// Replaces every C0 and C1 control character, DEL, and every Unicode
    /// bidirectional override, embedding, isolate and mark with U+FFFD, so an
    /// ESC sequence cannot recolour, move the cursor, retitle the terminal or
    /// hide text, and right-to-left overrides cannot reorder what is shown.
    /// Tab, line feed and carriage return become a space: the text stays on
    /// one line, so it cannot forge a listing's next line either.
    public static func sanitized(_ text: String) -> String {
        // Fast path: the common case (ASCII printable) allocates nothing.
        if !text.unicodeScalars.contains(where: isUnsafe) { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x09, 0x0A, 0x0D: result.append(" ")
            default: result.append(isUnsafe(scalar) ? "\u{FFFD}" : scalar)
            }
        }
        return String(result)
    }

    /// Whether `scalar` must not reach a terminal.
    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true  // C0, DEL, C1 (0x9B is a one-byte CSI)
        case 0x202A...0x202E: true           // LRE, RLE, PDF, LRO, RLO
        case 0x2066...0x2069: true           // LRI, RLI, FSI, PDI
        case 0x200E, 0x200F, 0x061C: true    // LRM, RLM, ALM
        default: false
        }
    }
}

// Byte-level helpers shared by the encoders and parsers. Values are secrets
// held as `[UInt8]`; these helpers inspect them in place instead of turning
// them into `String`s, which would leave copies nobody can wipe.

/// The rule for variable names shared by every format.
enum PortableVariableName {
    /// True for `[A-Za-z_][A-Za-z0-9_]*`: the POSIX shell's name rule, which
    /// systemd enforces too (it drops other names), and the subset that
    /// Node dotenv (`[\w.-]+`), godotenv and compose-go all accept as a key.
    static func isPortable(_ name: String) -> Bool {
        var bytes = name.utf8.makeIterator()
        guard let first = bytes.next(), isNameStart(first) else { return false }
        while let byte = bytes.next() {
            guard isNameContinue(byte) else { return false }
        }
        return true
    }

    static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || byte == UInt8(ascii: "_")
    }

    static func isNameContinue(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}

/// UTF-8 checks without building a `String`.
enum UTF8Bytes {
    /// True when `bytes` is entirely valid UTF-8.
    static func isValid(_ bytes: [UInt8]) -> Bool {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .error: return false
            case .emptyInput: return true
            }
        }
    }

    /// True if the bytes of `bytes` at `offset` spell `pattern`.
    static func matches(_ bytes: [UInt8], _ pattern: [UInt8], at offset: Int) -> Bool {
        guard offset >= 0, offset + pattern.count <= bytes.count else { return false }
        return bytes[offset..<offset + pattern.count].elementsEqual(pattern)
    }

    /// The number of Unicode scalars (counted as UTF-8 lead bytes) in
    /// `bytes[range]`; used for 1-based columns in error messages.
    static func scalarCount(_ bytes: [UInt8], _ range: Range<Int>) -> Int {
        var count = 0
        for index in range where bytes[index] & 0xC0 != 0x80 { count += 1 }
        return count
    }
}

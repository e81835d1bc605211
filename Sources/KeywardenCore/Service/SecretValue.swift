import Foundation
import KeywardenCrypto

/// A secret value as the API carries it: bytes in guarded memory
/// (`sodium_malloc`), wiped when released. Commands hold values only as
/// `Secret`; the crypto module stays behind Core.
public typealias Secret = SecureBytes

/// On the agent's socket a value travels as base64 in the JSON body (exact
/// bytes, even when not UTF-8). The decoded copy goes straight into guarded
/// memory and the intermediate bytes are wiped; JSON's own buffers are the
/// transport's and are released with the request.
extension SecureBytes: Codable {
    public convenience init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard var data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a secret value is not base64"))
        }
        defer { data.resetBytes(in: 0..<data.count) }
        self.init(copying: data)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        var bytes = copyBytes()
        defer { wipe(&bytes) }
        try container.encode(Data(bytes).base64EncodedString())
    }
}

/// Wiping for the copies a command makes of a value (to encode or print it).
public enum Secrets {
    /// Overwrites `bytes` with zeros in place.
    public static func wipe(_ bytes: inout [UInt8]) {
        KeywardenCrypto.wipe(&bytes)
    }

    /// Guarded memory holding a copy of `bytes`.
    public static func secret(copying bytes: some Collection<UInt8>) -> Secret {
        SecureBytes(copying: bytes)
    }
}

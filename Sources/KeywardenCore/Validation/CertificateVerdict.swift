import Foundation

/// Why a certificate failed verification, in words a person can act on,
/// from what `doctor`'s inspecting handshake saw (``TLSDetails``): expired
/// (with its date), not yet valid, not valid for the host (with the names
/// it is valid for), or an issuer nothing here trusts — self-signed, or
/// signed by a CA that is not in the trust store, as a TLS-inspecting
/// proxy's is. BoringSSL's own verify result does not reach Swift through
/// NIOSSL's error, so the certificate itself is read; the problems are
/// listed in that order, each that applies.
public struct CertificateVerdict: Sendable, Equatable {
    public enum Problem: String, Sendable, Codable {
        case expired, notYetValid = "not_yet_valid", wrongHost = "wrong_host", selfSigned = "self_signed", untrustedIssuer = "untrusted_issuer"
    }

    /// Each problem found, most telling first.
    public var problems: [Problem]
    /// One sentence per problem.
    public var reason: String
    /// What to do about the first.
    public var advice: String

    /// The verdict for the certificate `details` describes, presented by
    /// `host`, at `now`.
    public static func explain(_ details: TLSDetails, host: String, now: Timestamp = .now()) -> CertificateVerdict {
        var problems: [Problem] = []
        var sentences: [String] = []
        var advice: [String] = []
        let caHint = "trust its CA with --ca-file FILE (or KEYWARDEN_CA_FILE / SSL_CERT_FILE)"
        if let after = Timestamp(stored: details.notValidAfter), after < now {
            problems.append(.expired)
            sentences.append("the certificate of \(host) expired on \(after.iso8601.prefix(10)) (\(after.iso8601))")
            advice.append("the server must renew its certificate; if the date looks wrong, check this machine's clock (now \(now.iso8601))")
        } else if let before = details.notValidBefore.flatMap(Timestamp.init(stored:)), now < before {
            problems.append(.notYetValid)
            sentences.append("the certificate of \(host) is not valid before \(before.iso8601)")
            advice.append("check this machine's clock (now \(now.iso8601)); a clock that runs behind rejects new certificates")
        }
        if let names = details.names, !names.isEmpty, !names.contains(where: { matches($0, host: host) }) {
            problems.append(.wrongHost)
            sentences.append("it is not valid for \(host): it is valid for \(names.prefix(8).joined(separator: ", "))\(names.count > 8 ? ", …" : "")")
            advice.append("use a base URL whose host is one of those names (`keywarden provider set … --base-url`), or a server with a certificate for \(host)")
        }
        if details.subject == details.issuer {
            problems.append(.selfSigned)
            sentences.append("it is self-signed (\(details.subject)), so no trusted CA vouches for it")
            advice.append("if you trust this server, \(caHint) — the certificate itself serves as its CA")
        } else if problems.isEmpty {
            // Nothing else is wrong with the certificate itself: the chain ends at a CA this machine does not trust.
            problems.append(.untrustedIssuer)
            sentences.append("its issuer \(details.issuer) is not a trusted CA here: typically a TLS-inspecting proxy (a corporate firewall or antivirus) whose CA is not installed, or a private CA")
            advice.append("get the proxy's or private CA's certificate (PEM) from your IT team and \(caHint)")
        }
        if problems.isEmpty {
            return CertificateVerdict(problems: [], reason: "the certificate of \(host) could not be verified", advice: caHint)
        }
        let reason = sentences.enumerated().map { index, sentence in index == 0 ? sentence : "also, " + sentence }.joined(separator: "; ")
        return CertificateVerdict(problems: problems, reason: reason, advice: advice[0])
    }

    /// RFC 6125 matching: case-insensitive, `*` standing for exactly one
    /// whole left-most label; IP addresses compare as text.
    static func matches(_ name: String, host: String) -> Bool {
        let name = name.lowercased(), host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if name == host { return true }
        guard name.hasPrefix("*."), let dot = host.firstIndex(of: ".") else { return false }
        return host[dot...] == name.dropFirst(1) && !host[..<dot].isEmpty
    }

    /// An IP address SAN as text: dotted for IPv4, colon-separated groups for IPv6.
    static func ipText(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return bytes.map { String($0, radix: 16) }.joined(separator: ":") }
        var groups: [String] = []
        for i in stride(from: 0, to: 16, by: 2) { groups.append(String(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]), radix: 16)) }
        let text = groups.joined(separator: ":")
        return text == "0:0:0:0:0:0:0:1" ? "::1" : text
    }
}

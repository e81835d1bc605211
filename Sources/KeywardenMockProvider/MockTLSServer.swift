import Crypto
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import X509

/// A TLS listener on 127.0.0.1 that presents a certificate made wrong on
/// purpose, for `doctor`'s TLS verdicts. Behind the handshake it plays the
/// providers as ``MockProviderServer`` does (a client that gets that far
/// trusted the certificate). Certificates are made for the test, in memory.
public final class MockTLSServer: Sendable {
    /// Which certificate the listener presents.
    public enum Presented: String, Sendable, CaseIterable {
        /// Issued by the test CA (`caPEM`) for `localhost`, expired since 2024-01-31.
        case expired
        /// Issued by the test CA for `api.elsewhere.test` and `*.elsewhere.test` only.
        case wrongHost
        /// Self-signed, for `localhost`.
        case selfSigned
        /// Issued for `localhost` by "Corp TLS Inspection CA", which is not `caPEM`
        /// (as a TLS-inspecting proxy's certificate looks to a machine without its CA).
        case untrustedIssuer
        /// Issued by the test CA for `localhost`, valid now: trusted with `caPEM`.
        case good
    }

    public let port: Int
    /// The test CA's certificate: trusting it (`--ca-file`) leaves only the planted fault.
    public let caPEM: String
    /// When the `expired` certificate stopped being valid.
    public static let expiredOn = Date(timeIntervalSince1970: 1_706_659_200)  // 2024-01-31T00:00:00Z
    private let channel: any Channel

    private init(port: Int, caPEM: String, channel: any Channel) {
        self.port = port
        self.caPEM = caPEM
        self.channel = channel
    }

    public static func start(presenting presented: Presented) async throws -> MockTLSServer {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Keywarden Test CA"); OrganizationName("Keywarden test") }
        let now = Date()
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-86400 * 3650), notValidAfter: now.addingTimeInterval(86400 * 3650),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true)
            },
            issuerPrivateKey: .init(caKey))
        let leafKey = P256.Signing.PrivateKey()
        var names: [GeneralName] = [.dnsName("localhost")]
        var validity = (now.addingTimeInterval(-3600), now.addingTimeInterval(86400))
        var issuerName = caName
        var issuerKey = caKey
        var subject = try DistinguishedName { CommonName("localhost"); OrganizationName("Keywarden test server") }
        switch presented {
        case .expired:
            validity = (expiredOn.addingTimeInterval(-86400 * 90), expiredOn)
        case .wrongHost:
            names = [.dnsName("api.elsewhere.test"), .dnsName("*.elsewhere.test")]
            subject = try DistinguishedName { CommonName("api.elsewhere.test") }
        case .selfSigned:
            issuerName = subject
            issuerKey = leafKey
        case .untrustedIssuer:
            issuerName = try DistinguishedName { CommonName("Corp TLS Inspection CA"); OrganizationName("Example Corp") }
            issuerKey = P256.Signing.PrivateKey()
        case .good:
            break
        }
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(leafKey.publicKey),
            notValidBefore: validity.0, notValidAfter: validity.1,
            issuer: issuerName, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { SubjectAlternativeNames(names) },
            issuerPrivateKey: .init(issuerKey))
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(try leaf.serializeAsPEM().pemString.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(leafKey.pemRepresentation.utf8), format: .pem)))
        let context = try NIOSSLContext(configuration: configuration)
        let state = MockState()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MockRequestHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return MockTLSServer(port: channel.localAddress!.port!, caPEM: try ca.serializeAsPEM().pemString, channel: channel)
    }

    public func shutdown() async {
        try? await channel.close()
    }
}

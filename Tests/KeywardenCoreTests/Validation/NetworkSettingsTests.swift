import Testing
@testable import KeywardenCore

@Suite("Network settings sent with a check")
struct NetworkSettingsTests {
    @Test("relative CA paths are made absolute against the client's working directory; the agent has its own")
    func relativePaths() {
        let settings = NetworkSettings(environment: ["SSL_CERT_FILE": "certs/ca.pem", "ssl_cert_dir": "certs:/etc/ssl/certs::more",
                                                     "KEYWARDEN_CA_FILE": "extra.pem", "HTTPS_PROXY": "http://proxy:3128", "HOME": "/home/me"],
                                       workingDirectory: "/work/app")
        #expect(settings.variables == ["SSL_CERT_FILE": "/work/app/certs/ca.pem", "ssl_cert_dir": "/work/app/certs:/etc/ssl/certs::/work/app/more",
                                       "KEYWARDEN_CA_FILE": "/work/app/extra.pem", "HTTPS_PROXY": "http://proxy:3128"])
        #expect(settings.caFile == "/work/app/extra.pem")
        #expect(NetworkSettings(environment: [:], caFile: "ca.pem", workingDirectory: "/w").caFile == "/w/ca.pem")
        let absolute = NetworkSettings(environment: ["SSL_CERT_FILE": "/etc/ca.pem", "SSL_CERT_DIR": ""], caFile: "/etc/x.pem", workingDirectory: "/w")
        #expect(absolute.variables == ["SSL_CERT_FILE": "/etc/ca.pem", "SSL_CERT_DIR": ""])
        #expect(absolute.caFile == "/etc/x.pem")
    }
}

import Foundation

/// How the process that asked for a check reaches the providers: its proxy
/// variables and its extra CA file. It travels in the requests that send a
/// key to a provider (validate, doctor, rotate's test), so the agent checks
/// a key the way the client's own process would, never with whatever proxy
/// the agent happened to be started with.
public struct NetworkSettings: Codable, Sendable, Equatable {
    /// The caller's network variables (`HTTPS_PROXY`, `NO_PROXY`, …; see
    /// ``NetworkSettings/networkVariables(of:)``). Proxy credentials in them
    /// go only into `Proxy-Authorization`, never into output.
    public var variables: [String: String]
    /// Extra trusted CA certificates (PEM): `--ca-file`, else
    /// `KEYWARDEN_CA_FILE`, as an absolute path.
    public var caFile: String?

    /// The settings of the current process: `environment`'s network
    /// variables and `caFile` (else `KEYWARDEN_CA_FILE`). Relative paths
    /// (the CA file, `SSL_CERT_FILE`, each directory of `SSL_CERT_DIR`,
    /// `KEYWARDEN_CA_FILE`) are made absolute here, against
    /// `workingDirectory` (this process's), because the agent that may read
    /// them has a working directory of its own.
    public init(environment: [String: String], caFile: String? = nil,
                workingDirectory: String = FileManager.default.currentDirectoryPath) {
        func absolute(_ path: String) -> String {
            path.isEmpty || path.hasPrefix("/") ? path : workingDirectory + "/" + path
        }
        var variables = Self.networkVariables(of: environment)
        for (name, value) in variables {
            switch name.uppercased() {
            case "SSL_CERT_FILE", "KEYWARDEN_CA_FILE": variables[name] = absolute(value)
            // OpenSSL reads a list of directories, separated by colons.
            case "SSL_CERT_DIR": variables[name] = value.split(separator: ":", omittingEmptySubsequences: false).map { absolute(String($0)) }.joined(separator: ":")
            default: break
            }
        }
        self.variables = variables
        self.caFile = (caFile ?? environment["KEYWARDEN_CA_FILE"]).flatMap { path in
            path.isEmpty ? nil : absolute(path)
        }
    }

    /// The variables of `environment` that change how a check reaches a
    /// provider, in either case: proxies and CA files. Nothing else of the
    /// caller's environment travels.
    public static func networkVariables(of environment: [String: String]) -> [String: String] {
        environment.filter { name, _ in
            ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "KEYWARDEN_CA_FILE"].contains(name.uppercased())
        }
    }

    /// A probe client that goes out as these settings say.
    public var client: ProbeClient {
        ProbeClient(proxies: ProxySettings(environment: variables), caFile: caFile)
    }
}

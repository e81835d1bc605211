import Foundation

/// Where a PostgreSQL vault lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?…]`
/// (`postgresql://` too), as libpq reads it, from `KEYWARDEN_DATABASE_URL`,
/// `--database` or `init --database`.
///
/// Query parameters:
/// - `sslmode`: `disable`, `require` (encrypted, server not verified),
///   `verify-ca` (certificate checked against the CA, not the name) or
///   `verify-full` (certificate and host name). The default is `verify-full`,
///   except for loopback hosts and Unix sockets, where it is `disable`: a
///   credential store does not talk to a remote server it has not verified
///   unless told to.
/// - `sslrootcert`: the CA file for `verify-ca`/`verify-full` (PEM); the
///   system's roots otherwise.
/// - `host=/path/to/dir`: a Unix socket folder (`…@/db?host=/run/postgresql`).
/// - `pool_size`: connections kept per process (default 4).
/// - `password`: the password, as libpq takes it, when the user info has none.
///
/// The password may also come from `KEYWARDEN_DATABASE_PASSWORD`, so that it
/// need not be in the URL. It is never shown: `redacted` is what messages use,
/// and a URL that does not parse is shown through `redact`, which hides the
/// user info's password and every `…password…=` parameter's value.
public struct DatabaseURL: Sendable, Equatable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var user: String
    var password: String?
    /// A host name or address; nil with a Unix socket.
    public var host: String?
    public var port: Int
    public var database: String
    /// The socket file, with `host=/dir` (`/dir/.s.PGSQL.PORT`).
    public var unixSocketPath: String?
    public var sslMode: SSLMode
    public var sslRootCert: String?
    public var poolSize: Int

    /// Whether `text` names a PostgreSQL database (rather than a file).
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses a URL; `password` (from the environment) is used when the URL has none.
    public init(_ text: String, password environmentPassword: String? = nil) throws(KeywardenError) {
        func bad(_ why: String) -> KeywardenError {
            KeywardenError(.invalidInput, "the database URL \(Self.redact(text)) \(why)")
        }
        guard Self.isPostgres(text), let components = URLComponents(string: text) else {
            throw bad("is not a postgres:// URL (expected postgres://USER@HOST[:PORT]/DATABASE)")
        }
        guard let user = components.user, !user.isEmpty else { throw bad("names no user (postgres://USER@HOST/DATABASE)") }
        self.user = user
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty, !path.contains("/") else { throw bad("names no database (postgres://USER@HOST/DATABASE)") }
        database = path
        var parameters: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard let value = item.value else { throw bad("has a parameter without a value: \(item.name)") }
            parameters[item.name] = value
        }
        let known: Set<String> = ["sslmode", "sslrootcert", "host", "pool_size", "password"]
        if let unknown = parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad("has an unknown parameter '\(unknown)' (known: sslmode, sslrootcert, host, pool_size, password)")
        }
        // An empty password is none: the next source is used.
        password = [components.password, parameters["password"], environmentPassword].lazy.compactMap { $0 }.first { !$0.isEmpty }
        port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw bad("has an invalid port") }
        if let socketFolder = parameters["host"] {
            guard socketFolder.hasPrefix("/") else { throw bad("has host=\(socketFolder), which is not a socket folder (an absolute path)") }
            unixSocketPath = socketFolder + "/.s.PGSQL.\(port)"
            host = nil
        } else {
            guard var host = components.host, !host.isEmpty else { throw bad("names no host (postgres://USER@HOST/DATABASE, or ?host=/socket/folder)") }
            // An IPv6 address comes bracketed (`[::1]`); the connection and `server` want the address alone.
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self.host = host
            unixSocketPath = nil
        }
        if let mode = parameters["sslmode"] {
            guard let parsed = SSLMode(rawValue: mode) else {
                throw bad("has sslmode=\(mode); use one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sslMode = parsed
        } else {
            sslMode = unixSocketPath != nil || Self.isLoopback(host ?? "") ? .disable : .verifyFull
        }
        if unixSocketPath != nil, sslMode != .disable { throw bad("asks for TLS over a Unix socket, which PostgreSQL does not offer") }
        sslRootCert = parameters["sslrootcert"]
        if let ca = sslRootCert, !FileManager.default.isReadableFile(atPath: ca) {
            throw bad("names the CA file \(ca), which cannot be read")
        }
        if let size = parameters["pool_size"] {
            guard let n = Int(size), (1...64).contains(n) else { throw bad("has pool_size=\(size); use 1 to 64") }
            poolSize = n
        } else {
            poolSize = 4
        }
    }

    /// Whether the URL itself carries a password, in its user info or a
    /// parameter whose name holds `password` (refused on a command line,
    /// where argv is visible to all).
    public static func hasPassword(_ text: String) -> Bool {
        guard let components = URLComponents(string: text) else { return redact(text) != text }
        return components.password != nil || components.queryItems?.contains { $0.name.lowercased().contains("password") } == true
    }

    /// The server as named in messages: `db.example:5432` or the socket path.
    public var server: String {
        if let unixSocketPath { return unixSocketPath }
        let shownHost = host!.contains(":") ? "[\(host!)]" : host!
        return "\(shownHost):\(port)"
    }

    /// The URL without its password, for messages and `status`.
    public var redacted: String {
        let location = unixSocketPath.map { "/\(database)?host=\(($0 as NSString).deletingLastPathComponent)" } ?? "\(server)/\(database)"
        return "postgres://\(user)@\(location)"
    }

    /// A URL as text with any password replaced, for error messages about a
    /// URL that did not parse: the user info's password, and the value of
    /// every parameter whose name holds `password` (`password`, `sslpassword`).
    static func redact(_ text: String) -> String {
        let text = text.replacing(#/([?&][^=&#]*password[^=&#]*=)[^&#]*/#.ignoresCase()) { $0.output.1 + "…" }
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://"), scheme.upperBound < at else { return text }
        let userInfo = text[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":…" + String(text[at...])
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A small pool of connections to one PostgreSQL database, used from the
/// synchronous store API (`VaultStore`): a caller checks a connection out,
/// runs its statements, each awaited with `wait()` on the calling thread
/// (never an event loop: the connections run on NIO's shared loops), and
/// checks it back in. At most `url.poolSize` are open; more callers wait.
/// A connection that failed is closed instead of going back to the pool.
final class PostgresConnections: Sendable {
    let url: DatabaseURL
    private let configuration: PostgresConnection.Configuration
    private let idle = NIOLockedValueBox<[PostgresConnection]>([])
    private let slots: DispatchSemaphore
    private let nextID = NIOLockedValueBox(0)
    static let logger = Logger(label: "keywarden.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    /// How long a caller waits for a free connection.
    static let checkoutTimeout = DispatchTimeInterval.seconds(30)

    init(_ url: DatabaseURL, password: String? = nil) throws(KeywardenError) {
        self.url = url
        var configuration: PostgresConnection.Configuration
        if let socket = url.unixSocketPath {
            configuration = .init(unixSocketPath: socket, username: url.user, password: url.password, database: url.database)
        } else {
            configuration = .init(host: url.host!, port: url.port, username: url.user, password: url.password, database: url.database,
                                  tls: try Self.tls(url))
        }
        configuration.options.connectTimeout = .seconds(5)
        self.configuration = configuration
        slots = DispatchSemaphore(value: url.poolSize)
    }

    private static func tls(_ url: DatabaseURL) throws(KeywardenError) -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable: return .disable
        case .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let ca = url.sslRootCert {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            } catch {
                throw KeywardenError(.invalidInput, "cannot read the CA file \(ca) for \(url.redacted): \(error)")
            }
        }
        do {
            return .require(try NIOSSLContext(configuration: tls))
        } catch {
            throw KeywardenError(.failed, "cannot set up TLS for \(url.redacted): \(error)")
        }
    }

    deinit {
        closeAll()
    }

    /// Runs `body` on a pooled connection.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard slots.wait(timeout: .now() + Self.checkoutTimeout) == .success else {
            throw KeywardenError(.failed, "every connection to the vault database at \(url.server) stayed busy for 30 s; try again")
        }
        defer { slots.signal() }
        let connection = try checkOut()
        do {
            let result = try body(connection)
            idle.withLockedValue { $0.append(connection) }
            return result
        } catch {
            // A failed statement inside a transaction was rolled back by the
            // caller; a connection that broke is not reused.
            if connection.isClosed || Self.isConnectionError(error) {
                PostgresConnections.close(connection)
            } else {
                idle.withLockedValue { $0.append(connection) }
            }
            throw error
        }
    }

    private func checkOut() throws -> PostgresConnection {
        while let connection = idle.withLockedValue({ $0.popLast() }) {
            if !connection.isClosed { return connection }
        }
        return try connect()
    }

    /// A new connection (outside the pool: the listener uses one of its own).
    func connect() throws -> PostgresConnection {
        let id = nextID.withLockedValue { id in id += 1; return id }
        // The error as it came (described by the caller): a failed connect
        // is how a transaction learns the database is unreachable.
        let connection = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: id,
                                                        logger: Self.logger).wait()
        // A host that hangs inside a write must not stop every other host's
        // writes for ever: its transaction ends after a minute idle, and a
        // writer waits at most 30 s for the vault's write lock.
        do {
            _ = try connection.query("SET idle_in_transaction_session_timeout = '60s'", logger: Self.logger).wait()
            _ = try connection.query("SET lock_timeout = '30s'", logger: Self.logger).wait()
        } catch {
            PostgresConnections.close(connection)
            throw error
        }
        return connection
    }

    /// Closes the idle connections (the store is done).
    func closeAll() {
        for connection in idle.withLockedValue({ idle in defer { idle.removeAll() }; return idle }) {
            PostgresConnections.close(connection)
        }
    }

    /// Closes a connection: waits for it to close, except on an event loop
    /// (a store released there, in its deinit), which must never block.
    static func close(_ connection: PostgresConnection) {
        if MultiThreadedEventLoopGroup.currentEventLoop == nil {
            _ = try? connection.close().wait()
        } else {
            connection.close().whenComplete { _ in _ = connection }
        }
    }

    static func isConnectionError(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return error is KeywardenError ? false : true }
        return error.code != .server
    }

    /// The SQLSTATE of a server error, if it is one.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// A database error as a message a user can act on, naming the server
    /// (never the password) and, for a server error, PostgreSQL's own words.
    static func describe(_ error: any Error, url: DatabaseURL) -> KeywardenError {
        if let error = error as? KeywardenError { return error }
        guard let psql = error as? PSQLError else {
            return KeywardenError(.failed, "cannot reach the vault database at \(url.server): \(reason(error))")
        }
        if psql.code == .server, let info = psql.serverInfo {
            let state = info[.sqlState] ?? ""
            let message = info[.message] ?? "error \(state)"
            switch state {
            case "28P01", "28000":
                return KeywardenError(.failed, "the vault database at \(url.server) refused user \(url.user): \(message)")
            case "3D000":
                return KeywardenError(.notFound, "the vault database at \(url.server) has no database \(url.database): \(message); create it (createdb \(url.database)) or fix the URL")
            case _ where state.hasPrefix("23"):
                return KeywardenError(.conflict, "the vault refused the change (\(message)); nothing was changed")
            case "P0001":
                return KeywardenError(.integrity, "the vault database refused the change: \(message); nothing was changed")
            case "55P03":
                return KeywardenError(.failed, "another host has held the vault's write lock for 30 s at \(url.server); try again")
            case "57P01", "57P02", "57P03":
                return KeywardenError(.failed, "the vault database at \(url.server) is shutting down or starting up (\(message)); try again")
            default:
                return KeywardenError(.failed, "vault database error at \(url.server): \(message) (SQLSTATE \(state))")
            }
        }
        switch psql.code {
        case .sslUnsupported:
            return KeywardenError(.failed, "the vault database at \(url.server) does not offer TLS, which sslmode=\(url.sslMode.rawValue) requires")
        case .serverClosedConnection, .uncleanShutdown:
            return KeywardenError(.failed, "the connection to the vault database at \(url.server) was closed (is the server restarting?); if it closed while a change was being committed, check whether the change was made before trying again")
        case .connectionError, .failedToAddSSLHandler:
            return KeywardenError(.failed, "cannot reach the vault database at \(url.server): \(reason(psql.underlying ?? psql))")
        default:
            return KeywardenError(.failed, "vault database error at \(url.server): \(psql.code)")
        }
    }

    /// The cause of a connection failure in a few words.
    private static func reason(_ error: any Error) -> String {
        if let error = error as? NIOSSLError {
            if case .handshakeFailed = error {
                return "the server's TLS certificate was not accepted (check sslrootcert= and that the host name matches the certificate)"
            }
            return "TLS failed (\(error))"
        }
        if let error = error as? BoringSSLError { return "TLS failed: the server's certificate was not accepted (\(error))" }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return reason(first.error) }
            if error.dnsAAAAError != nil || error.dnsAError != nil { return "the host name does not resolve" }
            return "\(error)"
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if error is ChannelError, "\(error)".contains("connectTimeout") { return "no answer within 5 s" }
        if let error = error as? PostgresDecodingError { return String(reflecting: error) }
        let text = "\(error)"
        if text.contains("connectTimeout") { return "no answer within 5 s" }
        if text.lowercased().contains("certificate") || text.contains("handshake") { return "TLS failed: \(text)" }
        return text
    }
}

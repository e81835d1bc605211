#if canImport(Glibc)
import CPeerCredentials
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A fresh PostgreSQL database on the test suite's throwaway server
/// (scripts/postgres-test-cluster.sh, started by scripts/test.sh), dropped
/// when the value goes away, so each test starts empty and leaves nothing.
///
/// The server is found through `KEYWARDEN_TEST_POSTGRES_URL` (its admin
/// database). Without it `isAvailable` is false: the PostgreSQL tests are
/// then disabled by their `.enabled(if:)` trait, and `scripts/test.sh`
/// always sets it.
public final class PostgresTestDatabase: @unchecked Sendable {
    /// The admin URL of the test server, when one runs.
    public static var adminURL: String? {
        ProcessInfo.processInfo.environment["KEYWARDEN_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public static var isAvailable: Bool { adminURL != nil }

    /// The same server over TLS (`sslmode=verify-full` with the test CA), admin database.
    public static var tlsAdminURL: String? { ProcessInfo.processInfo.environment["KEYWARDEN_TEST_POSTGRES_TLS_URL"] }

    public let name: String
    /// `postgres://kwtest@127.0.0.1:PORT/NAME`, no password (trust on loopback).
    public let url: String

    public init() throws {
        guard let admin = Self.adminURL else { throw Unavailable() }
        name = "kw_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        url = Self.replacingDatabase(in: admin, with: name)
        _ = try Self.psql(admin, "CREATE DATABASE \(name)")
    }

    deinit {
        if let admin = Self.adminURL {
            _ = try? Self.psql(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    /// The URL of this database over TLS (verify-full with the test CA).
    public var tlsURL: String? { Self.tlsAdminURL.map { Self.replacingDatabase(in: $0, with: name) } }

    /// Runs SQL in this database as the server's superuser (what someone
    /// with direct access to the database could do) and returns the rows,
    /// one per line, columns separated by `|`.
    @discardableResult
    public func psql(_ sql: String) throws -> String { try Self.psql(url, sql) }

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String { "no PostgreSQL test server: run the suite with scripts/test.sh (KEYWARDEN_TEST_POSTGRES_URL is unset)" }
    }

    public struct Failed: Error, CustomStringConvertible {
        public var description: String
    }

    static func psql(_ url: String, _ sql: String) throws -> String {
        let result = try CommandRunner.run("/usr/bin/env", ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                                           environment: ProcessInfo.processInfo.environment, timeout: 60)
        guard result.status == 0 else { throw Failed(description: "psql failed (\(result.status)): \(result.err)") }
        return result.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func replacingDatabase(in url: String, with name: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + name
        return components.string ?? url
    }
}

/// The fleet tests' own PostgreSQL server (scripts/test.sh starts a second
/// one for them: `KEYWARDEN_TEST_POSTGRES_FLEET_URL`), which they pause and
/// restart to see agents ride out an outage while the suite's shared server
/// stays up for the tests running beside them. Each instance makes a fresh
/// database there; a paused server is resumed when the instance goes.
public final class PrivatePostgresServer: @unchecked Sendable {
    public static var isAvailable: Bool { ProcessInfo.processInfo.environment["KEYWARDEN_TEST_POSTGRES_FLEET_URL"] != nil }

    public let directory: String
    /// The admin database's URL (`postgres://kwtest@127.0.0.1:PORT/postgres`).
    public let adminURL: String
    private let script: String
    private var paused = false
    private var databases: [String] = []

    public init() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["KEYWARDEN_TEST_POSTGRES_FLEET_URL"], let dir = environment["KEYWARDEN_TEST_POSTGRES_FLEET_DIR"] else {
            throw PostgresTestDatabase.Unavailable()
        }
        adminURL = url
        directory = dir
        script = environment["KEYWARDEN_TEST_POSTGRES_SCRIPT"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("scripts/postgres-test-cluster.sh").path
    }

    deinit {
        if paused { try? resume() }
        for name in databases { _ = try? PostgresTestDatabase.psql(adminURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }

    /// Creates a fresh database and returns its URL.
    public func createDatabase() throws -> String {
        let name = "fleet_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        _ = try PostgresTestDatabase.psql(adminURL, "CREATE DATABASE \(name)")
        databases.append(name)
        return PostgresTestDatabase.replacingDatabase(in: adminURL, with: name)
    }

    /// Stops the server (fast shutdown): every connection drops, none is accepted.
    public func pause() throws { try run("pause"); paused = true }
    public func resume() throws { try run("resume"); paused = false }
    public func restart() throws { try run("restart") }

    /// Runs the cluster script with posix_spawn and waits for it with
    /// waitpid, its output in a log file: through Foundation's `Process`,
    /// a script that starts the server (a daemon) was sometimes never seen
    /// to exit (a zombie nobody reaped), and the test hung.
    private func run(_ command: String) throws {
        let log = directory + "/" + command + ".log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process: `restart` leaves a daemon running,
        // and a pipe another test held open at that moment (its write end
        // made without close-on-exec) kept that test's reader waiting for an
        // EOF that never came — a CI run hung on it.
        // Before glibc 2.34 there is no such action (ENOSYS): the server starts all the same, as RotateCommand's commands do.
        let closing = kw_posix_spawn_close_from(&actions, 3)
        guard closing == 0 || closing == ENOSYS else {
            throw PostgresTestDatabase.Failed(description: "cannot set up \(script): closefrom (\(String(cString: strerror(closing))))")
        }
        let arguments = [script, command, directory]
        let environment = ProcessInfo.processInfo.environment.map { "\($0)=\($1)" }
        var argv = arguments.map { strdup($0) } + [nil]
        var envp = environment.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, script, &actions, nil, &argv, &envp)
        guard spawned == 0 else { throw PostgresTestDatabase.Failed(description: "cannot run \(script): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw PostgresTestDatabase.Failed(description: "\(command) failed (status \(status)): \(output)")
        }
    }
}

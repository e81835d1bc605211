#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenClient
import KeywardenCore
import KeywardenTestSupport
import Testing

/// KeywardenClient's own checks, against a bare listening socket of this
/// process (the kernel accepts a connection into the backlog; nothing answers).
@Suite("The agent client checks what it sends before it sends it")
struct AgentClientTests {
    /// A socket listening at `path` in a 0700 folder: it passes the client's trust checks.
    static func listener(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0 && listen(fd, 4) == 0)
        chmod(path, 0o600)
        return fd
    }

    @Test("a line break in the command name is refused before a byte is written")
    func lineBreakRefused() async throws {
        let directory = TemporaryDirectory(prefix: "keywarden-client-test")
        chmod(directory.path, 0o700)
        let path = directory.file("agent.sock")
        let server = try Self.listener(at: path)
        defer { close(server) }
        var warning: String?
        let agent = try #require(await AgentConnector.reach(socket: path, command: "keywarden key list\r\nX-Injected: yes",
                                                           warn: { warning = $0 }), "\(warning ?? "not reached")")
        let error = await #expect(throws: KeywardenError.self) { try await agent.listKeys(KeyFilter()) }
        #expect(error?.kind == .invalidInput)
        // The connection the client made holds nothing.
        let connection = accept(server, nil, nil)
        try #require(connection >= 0)
        defer { close(connection) }
        var byte: UInt8 = 0
        #expect(recv(connection, &byte, 1, Int32(MSG_DONTWAIT)) == -1 && errno == EAGAIN)
    }
}

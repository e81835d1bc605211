import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import NIOCore
import Testing
@testable import KeywardenCore

/// `validate` shares kept-alive connections across keys: fewer connections
/// than keys, a connection the server closed while idle costs no check, and
/// nothing about where a key may go changes.
@Suite("Validation reuses connections", .serialized)
struct ConnectionReuseTests {
    let anthropic = BuiltinProviders.named("anthropic")!

    func validator(concurrency: Int, caFile: String? = nil) -> Validator {
        Validator(client: ProbeClient(resolver: OfflineResolver(), proxies: ProxySettings(environment: [:]), caFile: caFile),
                  timeout: .seconds(30), concurrency: concurrency, sleep: { _ in })
    }

    func keys(_ count: Int, _ words: String = "valid", baseURL: String) -> [KeyToCheck] {
        (0..<count).map { _ in ValidatorTests.key(anthropic, words, baseURL: baseURL) }
    }

    /// Lets the servers' event loops see closes that clients sent.
    func settle() async throws { try await Task.sleep(nanoseconds: 200_000_000) }

    /// Waits (up to 5 s: the test runner shares two cores with other suites)
    /// until the server has seen every connection closed; the open count.
    func openAfterClosing(_ server: KeepAliveTestServer) async throws -> Int {
        for _ in 0..<100 where server.counts.open > 0 { try await Task.sleep(nanoseconds: 50_000_000) }
        return server.counts.open
    }

    @Test("200 keys at --concurrency 8 go over at most 8 connections, which are closed when the run ends")
    func reusedAcrossKeys() async throws {
        let mock = try await MockProviderServer.start()
        // An idle connection older than the pool's idle timeout (15 s) is
        // closed and replaced, as it should be; a test process starved by
        // the other suites can leave one idle that long, so this pool keeps
        // them for the whole run: what is counted here is reuse alone.
        let pool = ProbeConnectionPool(idleTimeout: .seconds(600), maxIdlePerTarget: 8)
        var pooled = validator(concurrency: 8)
        pooled.client.pool = pool
        let results = await pooled.check(keys(200, baseURL: mock.baseURL(for: "anthropic")))
        await pool.close()
        #expect(results.allSatisfy { $0.outcome == .valid && $0.attempts == 1 })
        #expect(mock.requests(withKeyContaining: "valid") == 200)
        #expect((1...8).contains(mock.connections), "\(mock.connections) connections for 200 checks")
        let (opened, reused) = (await pool.opened, await pool.reused)
        #expect(opened == mock.connections && reused == 200 - opened)
        await mock.shutdown()

        let server = try await KeepAliveTestServer.start(.keepAlive)
        let again = await validator(concurrency: 4).check(keys(40, baseURL: server.baseURL))
        #expect(again.allSatisfy { $0.outcome == .valid })
        #expect(server.counts.accepted <= 4)
        #expect(try await openAfterClosing(server) == 0, "the run closed its idle connections")
        #expect(server.counts.connectionHeaders.allSatisfy { $0.isEmpty }, "pooled requests ask for keep-alive (HTTP/1.1's default)")
        await server.shutdown()
    }

    @Test("a server that closes an idle connection as a request arrives: the check is sent again once on a fresh connection, one attempt")
    func idleConnectionClosed() async throws {
        let server = try await KeepAliveTestServer.start(.dropSecondRequest)
        let results = await validator(concurrency: 1).check(keys(3, baseURL: server.baseURL))
        #expect(results.map(\.outcome) == [.valid, .valid, .valid])
        #expect(results.map(\.attempts) == [1, 1, 1], "the resend is not an attempt of its own")
        // Key 1 opens A; key 2 finds A dropped, opens B; key 3 finds B dropped, opens C.
        #expect(server.counts.accepted == 3)
        #expect(server.counts.requests == 5)
        #expect(server.counts.answered == 3)
        await server.shutdown()

        // A server that closes idle connections on its own timer: the pool
        // notices the close, or resends; either way every check succeeds once.
        let timed = try await KeepAliveTestServer.start(.closeWhenIdle(milliseconds: 20))
        let validator = validator(concurrency: 1)
        var pooled = validator
        pooled.client.pool = ProbeConnectionPool()
        for item in keys(3, baseURL: timed.baseURL) {
            let check = await pooled.checkOne(item)
            #expect(check.outcome == .valid)
            #expect(check.attempts == 1)
            try await settle()
        }
        #expect(timed.counts.accepted == 3)
        #expect(timed.counts.answered == 3)
        await pooled.client.pool?.close()
        await timed.shutdown()
    }

    @Test("answers that end the connection are not reused: Connection: close, a body past the limit; doctor asks to close")
    func notReused() async throws {
        let closing = try await KeepAliveTestServer.start(.closeAfterEachAnswer)
        let results = await validator(concurrency: 1).check(keys(5, baseURL: closing.baseURL))
        #expect(results.allSatisfy { $0.outcome == .valid && $0.attempts == 1 })
        #expect(closing.counts.accepted == 5)
        #expect(closing.counts.requests == 5, "a connection the server said it closes is never tried again")
        await closing.shutdown()

        let large = try await KeepAliveTestServer.start(.keepAlive, body: #"{"data":[""# + String(repeating: "x", count: 4096) + #""]}"#)
        var small = validator(concurrency: 1)
        small.client.bodyLimit = 1024
        let cut = await small.check(keys(3, baseURL: large.baseURL))
        #expect(cut.allSatisfy { $0.attempts == 1 })
        #expect(large.counts.accepted == 3, "a connection whose answer was cut at the limit is closed")
        await large.shutdown()

        // doctor: a connection of its own, and the request says so.
        let server = try await KeepAliveTestServer.start(.keepAlive)
        let item = ValidatorTests.key(anthropic, "valid", baseURL: server.baseURL)
        let diagnosis = await Diagnosis.run(item, client: ProbeClient(resolver: OfflineResolver(), proxies: ProxySettings(environment: [:])),
                                            timeout: .seconds(30), environment: [:])
        #expect(diagnosis.check.outcome == .valid)
        #expect(diagnosis.stages.contains { $0.stage == .connect && $0.ok && $0.detail.hasPrefix("connected to") })
        #expect(server.counts.connectionHeaders == ["close"])
        #expect(try await openAfterClosing(server) == 0)
        await server.shutdown()
    }

    @Test("over TLS: a certificate that fails verification is tls_error for every key and no byte of a request is sent; a trusted one is reused")
    func tls() async throws {
        let mock = try await MockProviderServer.start()
        let failed = await validator(concurrency: 4).check(keys(6, baseURL: mock.baseURL(for: "anthropic", tls: true)))
        #expect(failed.allSatisfy { $0.outcome == .tlsError && $0.stage == .tls })
        #expect(failed.allSatisfy { $0.reason.contains("could not be verified") })
        try await settle()
        #expect(mock.tlsApplicationBytes.isEmpty, "no request on any connection")
        #expect(mock.received.isEmpty)
        #expect(mock.tlsConnections == 6, "a connection that failed verification is never pooled")

        let folder = TemporaryDirectory()
        try mock.certificatePEM.write(toFile: folder.file("mock-ca.pem"), atomically: false, encoding: .utf8)
        let trusted = "https://localhost:\(mock.tlsPort)/anthropic"
        let results = await validator(concurrency: 3, caFile: folder.file("mock-ca.pem")).check(keys(30, baseURL: trusted))
        #expect(results.allSatisfy { $0.outcome == .valid }, "\(results.first?.reason ?? "")")
        #expect(mock.tlsConnections - 6 <= 3, "\(mock.tlsConnections - 6) handshakes for 30 checks")
        await mock.shutdown()
    }
}

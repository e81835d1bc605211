#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KeywardenCore
@testable import KeywardenServer
import Testing

/// `GET /v1/keys/{provider}?scope=S` answered on the event loop (HotKeyReads,
/// and RawKeyReads for repeats), on a real Unix socket: the same answers,
/// checks, metrics and audit trail as through the router.
@Suite("Agent hot path: key reads on the event loop")
struct HotPathTests {
    static let target = "/v1/keys/anthropic?scope=prod"

    @Test("the first serve on a connection is committed before its answer; repeats in its window are counted and committed within 250 ms")
    func firstServeDurableRepeatsCounted() async throws {
        let fixture = try AgentFixture(peers: KernelPeers(), owner: getuid())
        try await withLiveAgent(fixture) { socket in
            let connection = try RawHTTPConnection(socket: socket)
            let first = try await connection.get(Self.target)
            #expect(first.status == 200 && first.body.contains(TestKeys.anthropic))
            // Read by another connection right after the answer, as after a kill -9: already there.
            #expect(try fixture.committedServes("served: ANTHROPIC_API_KEY") == 1, "the first serve is durable before its answer")
            for _ in 1...20 {
                let again = try await connection.get(Self.target)
                #expect(again.status == 200 && again.body == first.body)
            }
            // Another connection's first serve waits for its own commit.
            let other = try RawHTTPConnection(socket: socket)
            #expect(try await other.get(Self.target).status == 200)
            #expect(try fixture.committedServes("served: ANTHROPIC_API_KEY") >= 2)
            try await Task.sleep(for: .milliseconds(600))
            #expect(try fixture.committedServes("served: ANTHROPIC_API_KEY") == 22, "every repeat is counted once it is flushed")
        }
    }

    @Test("after its window (1 s) a serve waits for a durable event again; another purpose is another serve")
    func windowEnds() async throws {
        let fixture = try AgentFixture(peers: KernelPeers(), owner: getuid())
        try await withLiveAgent(fixture) { socket in
            let connection = try RawHTTPConnection(socket: socket)
            #expect(try await connection.get(Self.target).status == 200)
            #expect(try await connection.get(Self.target, ["x-keywarden-purpose: nightly job"]).status == 200)
            #expect(try fixture.committedServes("nightly job: ANTHROPIC_API_KEY") == 1, "a new purpose is committed before its answer")
            try await Task.sleep(for: .milliseconds(1100))
            let before = try fixture.committedServes("served: ANTHROPIC_API_KEY")
            #expect(try await connection.get(Self.target).status == 200)
            #expect(try fixture.committedServes("served: ANTHROPIC_API_KEY") == before + 1, "past its window, a serve is committed before its answer")
        }
    }

    @Test("answers are byte for byte the router's: first serve, repeat, and a request the router takes (Connection: keep-alive)")
    func sameBytesAsTheRouter() async throws {
        let fixture = try AgentFixture(peers: KernelPeers(), owner: getuid())
        try await withLiveAgent(fixture) { socket in
            let connection = try RawHTTPConnection(socket: socket)
            let first = try await connection.get(Self.target)     // decoded, waits for its commit
            let repeated = try await connection.get(Self.target)  // raw bytes, counted
            let routed = try await connection.get(Self.target, ["Connection: keep-alive"])  // Hummingbird's router
            #expect(first.head == routed.head && repeated.head == routed.head, "\(first.head)\n\(repeated.head)\n\(routed.head)")
            #expect(first.body == routed.body && repeated.body == routed.body)
            #expect(routed.head.hasPrefix("HTTP/1.1 200 OK\r\n") && routed.head.contains("Server: keywarden-agent"))
            for answer in [first, repeated, routed] {
                #expect(answer.date.hasSuffix(" GMT") && answer.date.count == 29, "RFC 9110 date: \(answer.date)")
            }
            // Several requests in one write are answered in order, whichever path each takes.
            connection.send("GET \(Self.target) HTTP/1.1\r\n\r\nGET /v1/health HTTP/1.1\r\n\r\nGET /v1/keys/openai?scope=prod HTTP/1.1\r\n\r\n")
            #expect(try await connection.answer().body == first.body)
            #expect(try await connection.answer().body.contains("locked"))
            #expect(try await connection.answer().body.contains(TestKeys.openai))
            #expect(try await connection.get(Self.target).body == first.body)
        }
    }

    @Test("requests that arrive while a first serve waits for its commit go to the router after it, and are answered in order")
    func heldRequestsReachTheRouter() async throws {
        let fixture = try AgentFixture(peers: KernelPeers(), owner: getuid())
        try await withLiveAgent(fixture) { socket in
            // A new connection: its first request is a first serve, whose
            // answer waits for a commit while the two behind it are held;
            // they are handed to the router afterwards, with no more bytes
            // arriving to push them along. (Before the fix they were never
            // answered: Hummingbird's inbound stream waited for a read complete.)
            let connection = try RawHTTPConnection(socket: socket)
            connection.send("GET \(Self.target) HTTP/1.1\r\n\r\nGET /v1/health HTTP/1.1\r\n\r\nGET /v1/keys/openai?scope=prod HTTP/1.1\r\n\r\n")
            #expect(try await connection.answer().body.contains(TestKeys.anthropic))
            #expect(try await connection.answer().body.contains("locked"))
            #expect(try await connection.answer().body.contains(TestKeys.openai))
            // The same when the held requests are all the router's.
            let other = try RawHTTPConnection(socket: socket)
            other.send("GET /v1/keys/openai?scope=prod HTTP/1.1\r\n\r\nGET /v1/health HTTP/1.1\r\n\r\n")
            #expect(try await other.answer().body.contains(TestKeys.openai))
            #expect(try await other.answer().body.contains("locked"))
        }
    }

    @Test("another user is refused without a token and a token outside its grant gets 'not found', on a live socket")
    func otherUsers() async throws {
        let fixture = try AgentFixture(peers: FixedPeers(peer: PeerCredentials(uid: AgentFixture.other, gid: AgentFixture.other, pid: 77)))
        let devOnly = try fixture.token("dev-only", scopes: ["dev"])
        let prod = try fixture.token("prod")
        try await withLiveAgent(fixture) { socket in
            let connection = try RawHTTPConnection(socket: socket)
            for _ in 1...3 {
                let refused = try await connection.get(Self.target)
                #expect(refused.status == 403 && !refused.body.contains(TestKeys.anthropic))
                let outside = try await connection.get(Self.target, ["Authorization: Bearer \(devOnly)"])
                #expect(outside.status == 404 && outside.body.contains("not granted to this token"))
                let granted = try await connection.get(Self.target, ["Authorization: Bearer \(prod)"])
                #expect(granted.status == 200 && granted.body.contains(TestKeys.anthropic))
            }
        }
        #expect(try fixture.committedEvents("agent.deny").count == 6)
    }

    @Test("once locked, a connection that read its key gets 423, not the cached value")
    func locked() async throws {
        let fixture = try AgentFixture(peers: KernelPeers(), owner: getuid())
        try await withLiveAgent(fixture) { socket in
            let connection = try RawHTTPConnection(socket: socket)
            #expect(try await connection.get(Self.target).status == 200)
            #expect(try await connection.get(Self.target).status == 200)
            fixture.state.lock()
            let refused = try await connection.get(Self.target)
            #expect(refused.status == 423 && !refused.body.contains(TestKeys.anthropic))
        }
    }

    @Test("when the audit trail cannot be written: a new connection gets 503 at once, a reading one once its window ends; then served again")
    func auditFailsClosed() async throws {
        let fixture = try AgentFixture(peers: KernelPeers(), owner: getuid())
        try await withLiveAgent(fixture) { socket in
            let reading = try RawHTTPConnection(socket: socket)
            #expect(try await reading.get(Self.target).status == 200)
            let holder = try WriteLockHolder(database: fixture.location.databasePath)
            let refused = try await RawHTTPConnection(socket: socket).get(Self.target)
            #expect(refused.status == 503 && refused.body.contains("audit trail cannot be written") && !refused.body.contains(TestKeys.anthropic))
            try await Task.sleep(for: .milliseconds(1100))
            let later = try await reading.get(Self.target)
            #expect(later.status == 503 && !later.body.contains(TestKeys.anthropic))
            holder.release()
            #expect(try await reading.get(Self.target).status == 200)
            #expect(try await RawHTTPConnection(socket: socket).get(Self.target).status == 200)
        }
    }

    @Test("a rotated key is served at once, and its own first serve is committed before its answer")
    func rotation() async throws {
        let fixture = try AgentFixture(peers: KernelPeers(), owner: getuid())
        try await withLiveAgent(fixture) { socket in
            let connection = try RawHTTPConnection(socket: socket)
            #expect(try await connection.get(Self.target).body.contains(TestKeys.anthropic))
            #expect(try await connection.get(Self.target).body.contains(TestKeys.anthropic))
            // Another process activates a new key.
            let rotated = try fixture.reopen().addKey(provider: "anthropic", scope: "prod", label: "next", env: nil,
                                                     value: Secrets.secret(copying: TestKeys.anthropic2.utf8), activate: true, force: true).key
            let served = try await connection.get(Self.target)
            #expect(served.status == 200 && served.body.contains(TestKeys.anthropic2) && served.body.contains(rotated.id))
            #expect(try fixture.committedEvents("agent.serve").contains { $0.keyID == rotated.id })
        }
    }

    @Test("hot reads count in /metrics under the route template, with the values served")
    func metrics() async throws {
        let fixture = try AgentFixture(peers: KernelPeers(), owner: getuid())
        try await withLiveAgent(fixture) { socket in
            let connection = try RawHTTPConnection(socket: socket)
            for _ in 1...5 { #expect(try await connection.get(Self.target).status == 200) }
            #expect(try await connection.get("/v1/keys/anthropic?scope=nosuch").status == 404)
            let metrics = try await connection.get("/metrics").body
            #expect(metrics.contains("keywarden_requests_total{route=\"/v1/keys/{provider}\",status=\"200\"} 5"), "\(metrics)")
            #expect(metrics.contains("keywarden_requests_total{route=\"/v1/keys/{provider}\",status=\"404\"} 1"))
            #expect(metrics.contains("keywarden_request_duration_seconds_count{route=\"/v1/keys/{provider}\"} 6"))
            #expect(metrics.contains("keywarden_values_served_total 5"))
            #expect(!metrics.contains(TestKeys.anthropic))
        }
    }
}

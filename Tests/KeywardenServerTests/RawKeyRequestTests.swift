import KeywardenCore
@testable import KeywardenServer
import NIOCore
import NIOEmbedded
import Testing

@Suite("Agent hot path: which bytes are answered before HTTP decoding")
struct RawKeyRequestTests {
    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test("one whole plain GET of a key, with its purpose; everything else is left to the decoder")
    func parse() {
        let plain = RawKeyRequest.parse(Self.bytes("GET /v1/keys/anthropic?scope=team/app HTTP/1.1\r\nHost: a\r\nX-Keywarden-Purpose: nightly job\r\n\r\n"))
        #expect(plain?.request == HotKeyRequest(target: Array("/v1/keys/anthropic?scope=team/app".utf8)))
        #expect(plain?.request.scope == "team/app" && plain?.purpose == "nightly job")
        #expect(RawKeyRequest.parse(Self.bytes("GET /v1/keys/openai?scope=prod HTTP/1.1\r\n\r\n"))?.purpose == "served")
        for refused in [
            "GET /v1/keys/anthropic?scope=prod HTTP/1.0\r\n\r\n",                                    // HTTP/1.0
            "POST /v1/keys/anthropic?scope=prod HTTP/1.1\r\n\r\n",
            "GET /v1/keys/anthropic?scope=pr%6Fd HTTP/1.1\r\n\r\n",                                  // percent-encoded
            "GET /v1/keys/anthropic?scope=a+b HTTP/1.1\r\n\r\n",
            "GET /v1/keys/anthropic?scope=prod&x=1 HTTP/1.1\r\n\r\n",
            "GET /v1/keys/anthropic?scope= HTTP/1.1\r\n\r\n",
            "GET /v1/keys/anthropic HTTP/1.1\r\n\r\n",
            "GET /v1/keys/anthropic/?scope=prod HTTP/1.1\r\n\r\n",
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nConnection: close\r\n\r\n",
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nx-keywarden-purpose: a\r\nx-keywarden-purpose: b\r\n\r\n",
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nx-keywarden-purpose: trailing \r\n\r\n",
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nx-keywarden-purpose: caf\u{e9}\r\n\r\n",   // not ASCII
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",              // obs-fold
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nHost a\r\n\r\n",
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nHost: a\r\n",                            // partial
            "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\n\r\nGET /v1/health HTTP/1.1\r\n\r\n",      // two requests
        ] {
            #expect(RawKeyRequest.parse(Self.bytes(refused)) == nil, "\(refused)")
        }
    }

    @Test("whether the decoder is left holding part of a request")
    func wholeRequests() {
        #expect(RawKeyRequest.isWholeRequests(Self.bytes("GET /v1/health HTTP/1.1\r\n\r\nGET /v1/keys/a?scope=b HTTP/1.1\r\nHost: x\r\n\r\n")))
        #expect(!RawKeyRequest.isWholeRequests(Self.bytes("GET /v1/health HTTP/1.1\r\nHost: x\r\n")))
        #expect(!RawKeyRequest.isWholeRequests(Self.bytes("POST /v1/reports HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")))
        #expect(!RawKeyRequest.isWholeRequests(Self.bytes("POST /v1/reports HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")))
        #expect(!RawKeyRequest.isWholeRequests(Self.bytes("CONNECT a:1 HTTP/1.1\r\n\r\n")))
    }

    @Test("a repeat in its window is answered from the bytes; a first serve, another user or a locked agent go on to the decoder")
    func rawAnswers() async throws {
        let fixture = try AgentFixture()
        let connection = HotConnection(agent: fixture.agent)
        let channel = EmbeddedChannel(handler: RawKeyReads(connection: connection))
        let request = "GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nHost: a\r\n\r\n"
        // Nothing known of the connection yet: the decoder reads it.
        try channel.writeInbound(Self.bytes(request))
        #expect(try channel.readInbound(as: ByteBuffer.self) != nil && channel.readOutbound(as: ByteBuffer.self) == nil)

        // As HotKeyReads leaves it after a first serve: the peer known, the key cached, a window open.
        connection.peer = PeerCredentials(uid: AgentFixture.owner, gid: AgentFixture.owner, pid: 9)
        let key = ServedKeyFacts(fixture.prodAnthropic)
        let body = ServedKey.json(fixture.prodAnthropic, Secrets.secret(copying: TestKeys.anthropic.utf8))
        let cache = fixture.state.cache
        _ = cache.answer(provider: "anthropic", scope: "prod")  // adopts the vault's current state
        cache.store(provider: "anthropic", scope: "prod", facts: key, answer: body, stampBefore: cache.currentStamp())
        guard case .first(let event, let repeats, let serve, let keyID, _) = connection.decide(
            try #require(HotKeyRequest(target: Array("/v1/keys/anthropic?scope=prod".utf8))), purpose: "served",
            peer: connection.peer!, now: .now(), allocator: channel.allocator)
        else { Issue.record("expected a first serve"); return }
        try await fixture.agent.audit.record(event)
        connection.windows.open(serve, keyID: keyID, repeats: repeats, now: .now())
        // Set after the commit: on a loaded machine the await above can outlast
        // decodeAtLeastEvery (10 s), after which a repeat is decoded on purpose.
        connection.lastDecoded = .now()

        try channel.writeInbound(Self.bytes(request))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil, "answered, not decoded")
        let head = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: head).hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.readableBytes)\r\nDate: "))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == body)

        // Another purpose is another serve: it waits for its own commit, after decoding.
        try channel.writeInbound(Self.bytes("GET /v1/keys/anthropic?scope=prod HTTP/1.1\r\nx-keywarden-purpose: other\r\n\r\n"))
        #expect(try channel.readInbound(as: ByteBuffer.self) != nil && channel.readOutbound(as: ByteBuffer.self) == nil)

        connection.peer = PeerCredentials(uid: AgentFixture.other, gid: AgentFixture.other, pid: 9)
        try channel.writeInbound(Self.bytes(request))
        #expect(try channel.readInbound(as: ByteBuffer.self) != nil, "another user's token is checked by the router")

        connection.peer = PeerCredentials(uid: AgentFixture.owner, gid: AgentFixture.owner, pid: 9)
        fixture.state.lock()
        try channel.writeInbound(Self.bytes(request))
        #expect(try channel.readInbound(as: ByteBuffer.self) != nil && channel.readOutbound(as: ByteBuffer.self) == nil, "locked: the router answers 423")
        _ = try channel.finish()
    }
}

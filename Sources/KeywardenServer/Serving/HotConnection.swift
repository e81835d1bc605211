import HTTPTypes
import KeywardenCore
import NIOCore

/// One connection's state on the hot path, shared by its two handlers,
/// ``RawKeyReads`` before HTTP decoding and ``HotKeyReads`` after it, on the
/// connection's event loop, and the one decision they both take for a hot
/// read (``decide(_:purpose:peer:now:allocator:)``).
final class HotConnection {
    enum Decision {
        /// A repeat inside the window of a durable serve: counted, answered now.
        case repeated(body: ByteBuffer)
        /// A first serve: answered once `event` is durable; then `repeats`
        /// counts the repeats of its window.
        case first(event: AuditDraft, repeats: AuditJournal.Repeats, serve: ServeWindows.Serve, keyID: String, body: ByteBuffer)
        /// Another user's (its token is checked by the router), a key not in
        /// the cache, a locked agent: the router answers, as it always did.
        case route
    }

    /// A request goes through the HTTP decoder at least this often, so that
    /// Hummingbird's idle timer (30 s) sees a connection that is busy.
    static let decodeAtLeastEvery = TimeAmount.seconds(10)

    let agent: AgentDependencies
    /// The peer, once known, when the agent's peers are per connection (the kernel's).
    var peer: PeerCredentials?
    var windows = ServeWindows()
    var heads = AnswerHeads()
    /// Requests handed to the router whose answer has not ended yet.
    var routerAnswersDue = 0
    /// ``HotKeyReads`` waits (for a peer or a commit): later requests wait behind it.
    var busy = false
    /// ``HotKeyReads`` has read no part of a request it has not answered or handed on.
    var betweenRequests = true
    /// When a request last went through the HTTP decoder.
    var lastDecoded = NIODeadline.uptimeNanoseconds(0)
    /// Every byte the HTTP decoder got formed whole requests without bodies:
    /// it holds no part of one. Once unsure, ``RawKeyReads`` stays out of
    /// this connection's way.
    var decoderHoldsNothing = true

    init(agent: AgentDependencies) {
        self.agent = agent
    }

    /// Whether ``RawKeyReads`` may answer a request read now: nothing before
    /// it is unanswered, and the answer cannot overtake another.
    func acceptsRawAnswers(at now: NIODeadline) -> Bool {
        peer != nil && !busy && betweenRequests && routerAnswersDue == 0 && decoderHoldsNothing && now - lastDecoded < Self.decodeAtLeastEvery
    }

    /// What to do with a hot read of `peer`. A repeat is counted here.
    func decide(_ request: HotKeyRequest, purpose: String, peer: PeerCredentials, now: NIODeadline, allocator: ByteBufferAllocator) -> Decision {
        guard peer.uid == agent.access.owner || peer.uid == 0,
              let (key, body) = agent.state.cache.answer(provider: request.provider, scope: request.scope, allocator: allocator),
              !agent.state.isLocked
        else { return .route }
        let serve = ServeWindows.Serve(provider: request.provider, scope: request.scope, purpose: purpose, uid: peer.uid, pid: peer.pid)
        if let repeats = windows.repeats(of: serve, keyID: key.id, now: now), agent.audit.count(repeats) {
            return .repeated(body: body)
        }
        let event = ServedKey.event(key, scope: request.scope, purpose: purpose, actor: Caller(peer: peer, token: nil).actor)
        return .first(event: event, repeats: AuditJournal.Repeats(of: event), serve: serve, keyID: key.id, body: body)
    }

    /// Counts an answer written on the event loop, as the router's metrics would.
    func answered(_ status: HTTPResponse.Status, started: NIODeadline) {
        agent.metrics.hotRead(status: status.code, seconds: Double((NIODeadline.now() - started).nanoseconds) / 1e9)
    }
}

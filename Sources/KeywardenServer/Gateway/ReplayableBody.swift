import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// The client's request body, streamed to the provider as it arrives and
/// kept (up to the gateway's limit) so that the request can be sent once
/// more — on another key after a refusal, or after a transient failure.
/// Hummingbird's body can be read only once, so one task reads it and every
/// attempt reads from what it stored.
final class ReplayableBody: Sendable {
    /// Why the client's body could not be read to its end.
    enum Failure: Error, Equatable {
        /// Over the gateway's limit for one request (413).
        case tooLarge
        /// The gateway holds its limit of request bodies in all right now (503).
        case overloaded
        /// The client broke off or sent a malformed body: nothing to retry.
        case client
    }

    private struct State {
        var chunks: [ByteBuffer] = []
        var bytes = 0
        var finished = false
        var failure: Failure?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())
    private let reader: Task<Void, Never>?
    /// The bytes this body holds of the gateway's budget, returned when it is dropped.
    private let budget: BodyBudget
    private let taken = NIOLockedValueBox(0)
    /// The client's `content-length`, when it sent one.
    let length: Int?

    /// A body that is complete already (small bodies are collected before the
    /// first attempt); nil when the gateway's budget for bodies is spent.
    init?(complete buffer: ByteBuffer, budget: BodyBudget) {
        guard budget.take(buffer.readableBytes) else { return nil }
        self.budget = budget
        taken.withLockedValue { $0 = buffer.readableBytes }
        length = buffer.readableBytes
        reader = nil
        state.withLockedValue {
            if buffer.readableBytes > 0 { $0.chunks = [buffer] }
            $0.bytes = buffer.readableBytes
            $0.finished = true
        }
    }

    /// Starts reading `body`; more than `limit` bytes fail every attempt with
    /// ``Failure/tooLarge``, more than the budget allows with ``Failure/overloaded``.
    init(streaming body: RequestBody, length: Int?, limit: Int, budget: BodyBudget) {
        self.length = length
        self.budget = budget
        let state = self.state
        let taken = self.taken
        reader = Task {
            do {
                for try await chunk in body {
                    let failure = state.withLockedValue { s -> Failure? in
                        s.bytes += chunk.readableBytes
                        guard s.bytes <= limit else { return .tooLarge }
                        guard budget.take(chunk.readableBytes) else { return .overloaded }
                        taken.withLockedValue { $0 += chunk.readableBytes }
                        s.chunks.append(chunk)
                        return nil
                    }
                    if let failure { throw failure }
                    Self.wake(state)
                }
                state.withLockedValue { $0.finished = true }
            } catch let failure as Failure {
                state.withLockedValue { $0.failure = failure }
            } catch {
                state.withLockedValue { $0.failure = .client }
            }
            Self.wake(state)
        }
    }

    deinit {
        budget.give(taken.withLockedValue { $0 })
    }

    private static func wake(_ state: NIOLockedValueBox<State>) {
        let waiters = state.withLockedValue { s in
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Why reading the client's body failed, if it did.
    var failure: Failure? { state.withLockedValue { $0.failure } }

    /// Waits until the client's body has been read to its end (or failed):
    /// Hummingbird may read what is left only after the gateway is done with it.
    func finishReading() async {
        await reader?.value
    }

    /// The chunk at `index`, waiting for the client when it has not arrived; nil at the end.
    fileprivate func chunk(at index: Int) async throws -> ByteBuffer? {
        while true {
            let ready: Result<ByteBuffer?, Failure>? = state.withLockedValue { s in
                if index < s.chunks.count { return .success(s.chunks[index]) }
                if let failure = s.failure { return .failure(failure) }
                if s.finished { return .success(nil) }
                return nil
            }
            if let ready { return try ready.get() }
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { s -> Bool in
                    if index < s.chunks.count || s.finished || s.failure != nil { return true }
                    s.waiters.append(waiter)
                    return false
                }
                if now { waiter.resume() }
            }
        }
    }

    /// One attempt's view of the body, from its first byte.
    var attempt: Attempt { Attempt(body: self) }

    struct Attempt: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let body: ReplayableBody

        struct AsyncIterator: AsyncIteratorProtocol {
            let body: ReplayableBody
            var index = 0

            mutating func next() async throws -> ByteBuffer? {
                guard let chunk = try await body.chunk(at: index) else { return nil }
                index += 1
                return chunk
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: body) }
    }
}

/// The bytes of request bodies the gateway holds at once, over all requests
/// (each keeps its body for one resend): past it, new bodies are refused (503)
/// rather than the agent's memory growing without bound.
final class BodyBudget: Sendable {
    let limit: Int
    private let used = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = limit }

    func take(_ count: Int) -> Bool {
        used.withLockedValue { used in
            guard used + count <= limit else { return false }
            used += count
            return true
        }
    }

    func give(_ count: Int) {
        used.withLockedValue { $0 -= count }
    }

    var inUse: Int { used.withLockedValue { $0 } }
}

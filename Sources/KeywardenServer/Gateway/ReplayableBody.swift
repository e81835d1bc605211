import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// The client's request body, streamed to the provider as it arrives and
/// kept (up to the gateway's limit) so that the request can be sent once
/// more — on another key after a refusal, or after a transient failure.
/// Hummingbird's body can be read only once, so one task reads it and every
/// attempt reads from what it stored.
final class ReplayableBody: Sendable {
    struct TooLarge: Error {}

    private struct State {
        var chunks: [ByteBuffer] = []
        var bytes = 0
        var finished = false
        var failure: (any Error)?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())
    private let reader: Task<Void, Never>?
    /// The client's `content-length`, when it sent one.
    let length: Int?

    /// A body that is complete already (small bodies are collected before the first attempt).
    init(complete buffer: ByteBuffer) {
        length = buffer.readableBytes
        reader = nil
        state.withLockedValue {
            if buffer.readableBytes > 0 { $0.chunks = [buffer] }
            $0.bytes = buffer.readableBytes
            $0.finished = true
        }
    }

    /// Starts reading `body`; more than `limit` bytes fail every attempt with ``TooLarge``.
    init(streaming body: RequestBody, length: Int?, limit: Int) {
        self.length = length
        let state = self.state
        reader = Task {
            do {
                for try await chunk in body {
                    let over = state.withLockedValue { s -> Bool in
                        s.bytes += chunk.readableBytes
                        guard s.bytes <= limit else { return true }
                        s.chunks.append(chunk)
                        return false
                    }
                    if over { throw TooLarge() }
                    Self.wake(state)
                }
                state.withLockedValue { $0.finished = true }
            } catch {
                state.withLockedValue { $0.failure = error }
            }
            Self.wake(state)
        }
    }

    private static func wake(_ state: NIOLockedValueBox<State>) {
        let waiters = state.withLockedValue { s in
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var isTooLarge: Bool { state.withLockedValue { $0.failure is TooLarge } }

    /// Waits until the client's body has been read to its end (or failed):
    /// Hummingbird may read what is left only after the gateway is done with it.
    func finishReading() async {
        await reader?.value
    }

    /// The chunk at `index`, waiting for the client when it has not arrived; nil at the end.
    fileprivate func chunk(at index: Int) async throws -> ByteBuffer? {
        while true {
            let ready: Result<ByteBuffer?, any Error>? = state.withLockedValue { s in
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

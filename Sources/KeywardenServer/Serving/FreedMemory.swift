#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Hands the heap pages freed after a large answer back to the system.
///
/// glibc keeps freed heap memory for reuse rather than returning it: after
/// three exports of 10,000 values through the agent (each decrypted, encoded
/// and written, then freed), the agent stayed 12 MiB larger than before them
/// (scripts/bench.sh memory). One `malloc_trim` a second after the last
/// large answer gives those pages back; not one per answer, since it walks
/// every heap.
final class FreedMemory: Sendable {
    /// An answer with at least this many values is a large one.
    static let largeAnswer = 1_000
    static let delay = TimeAmount.seconds(1)

    private let scheduled = NIOLockedValueBox(false)
    private let trims = NIOLockedValueBox(0)
    private let timer: any EventLoop

    init(timer: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()) {
        self.timer = timer
    }

    /// How many times memory was handed back (for tests).
    var trimCount: Int { trims.withLockedValue { $0 } }

    /// Notes an answer of `values` values; after a large one, trims within ``delay``.
    func answered(values: Int) {
        guard values >= Self.largeAnswer else { return }
        let schedule = scheduled.withLockedValue { scheduled -> Bool in
            defer { scheduled = true }
            return !scheduled
        }
        guard schedule else { return }
        timer.scheduleTask(in: Self.delay) { [self] in
            scheduled.withLockedValue { $0 = false }
            // Off the event loop: a trim walks and locks every heap for a
            // few milliseconds, which that loop's connections would wait out.
            DispatchQueue.global(qos: .utility).async { [self] in
                #if canImport(Glibc)
                _ = glibcMallocTrim(0)
                #endif
                trims.withLockedValue { $0 += 1 }
            }
        }
    }
}

#if canImport(Glibc)
/// `malloc_trim(3)` (malloc.h, which the Glibc module does not export).
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

// Load generator for the agent's benchmark: C keep-alive connections on a
// Unix socket, each sending GET PATH one after another for D seconds.
// Usage: keywarden-bench SOCKET PATH [CONNECTIONS] [SECONDS]
// Prints requests/s and latency percentiles; non-200 answers are counted as errors.

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: keywarden-bench SOCKET PATH [CONNECTIONS] [SECONDS]\n".utf8))
    exit(64)
}
let socketPath = arguments[1]
nonisolated(unsafe) let target = arguments[2]
let connections = arguments.count > 3 ? Int(arguments[3]) ?? 32 : 32
let seconds = arguments.count > 4 ? Double(arguments[4]) ?? 10 : 10

final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [UInt64] = []
    private var errors = 0
    func record(_ nanos: UInt64, ok: Bool) {
        lock.lock()
        if ok { latencies.append(nanos) } else { errors += 1 }
        lock.unlock()
    }
    var snapshot: ([UInt64], Int) { lock.lock(); defer { lock.unlock() }; return (latencies, errors) }
}

final class LoadHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    let recorder: Recorder
    let deadline: NIODeadline
    let done: EventLoopPromise<Void>
    var sentAt = NIODeadline.now()
    var status = 0

    init(recorder: Recorder, deadline: NIODeadline, done: EventLoopPromise<Void>) {
        self.recorder = recorder
        self.deadline = deadline
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) { send(context) }

    func send(_ context: ChannelHandlerContext) {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target)
        head.headers.add(name: "host", value: "keywarden")
        sentAt = .now()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body: break
        case .end:
            let now = NIODeadline.now()
            recorder.record(UInt64((now - sentAt).nanoseconds), ok: status == 200)
            if now < deadline { send(context) } else { done.succeed(); context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.succeed()
        context.close(promise: nil)
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let recorder = Recorder()
let start = NIODeadline.now()
let deadline = start + .nanoseconds(Int64(seconds * 1e9))
var finished: [EventLoopFuture<Void>] = []
for _ in 0..<connections {
    let done = group.next().makePromise(of: Void.self)
    finished.append(done.futureResult)
    _ = ClientBootstrap(group: group)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(LoadHandler(recorder: recorder, deadline: deadline, done: done))
            }
        }
        .connect(unixDomainSocketPath: socketPath)
        .whenFailure { _ in done.succeed() }
}
try EventLoopFuture.andAllSucceed(finished, on: group.next()).wait()
let elapsed = Double((NIODeadline.now() - start).nanoseconds) / 1e9
let (unsorted, errors) = recorder.snapshot
let latencies = unsorted.sorted()
@MainActor func percentile(_ p: Double) -> Double {
    guard !latencies.isEmpty else { return 0 }
    return Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1e6
}
print(String(format: "%d requests in %.2f s over %d connections: %.0f req/s; latency p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms; errors %d",
             latencies.count, elapsed, connections, Double(latencies.count) / elapsed, percentile(0.5), percentile(0.9), percentile(0.99),
             percentile(1.0), errors))
try group.syncShutdownGracefully()

import NIOConcurrencyHelpers
import NIOCore

/// Request counts, a log, open connections and run-time controls, shared by all connections.
final class MockState: Sendable {
    private struct Log {
        var counts: [String: Int] = [:]
        var received: [(String, [(String, String)])] = []
        var requests: [MockRequest] = []
    }

    /// Entries kept in each log; later requests are counted, not logged.
    private static let logLimit = 10_000

    private let storage = NIOLockedValueBox(Log())

    /// The admin APIs' keys and scenarios (MockAdminAPIs.swift).
    let admin = MockAdminState()

    /// Logs a request to a provider path; how many requests `key` has made, this one included.
    func record(key: String, path: String, headers: [(String, String)], request: MockRequest) -> Int {
        storage.withLockedValue { value in
            value.counts[key, default: 0] += 1
            if value.received.count < Self.logLimit { value.received.append((path, headers)) }
            if value.requests.count < Self.logLimit { value.requests.append(request) }
            return value.counts[key]!
        }
    }

    /// Logs a request that named no provider (counted under no key).
    func record(unrouted request: MockRequest) {
        storage.withLockedValue { value in
            if value.requests.count < Self.logLimit { value.requests.append(request) }
        }
    }

    func count(containing marker: String) -> Int {
        storage.withLockedValue { $0.counts.filter { $0.key.contains(marker) }.values.reduce(0, +) }
    }

    var received: [(path: String, headers: [(String, String)])] { storage.withLockedValue { $0.received.map { ($0.0, $0.1) } } }

    var requests: [MockRequest] { storage.withLockedValue { $0.requests } }

    // MARK: Connections

    private struct Connections {
        var accepted = 0
        var open: [ObjectIdentifier: any Channel] = [:]
    }

    private let connectionStorage = NIOLockedValueBox(Connections())

    /// Counts `channel` as accepted and open until it closes.
    func connectionAccepted(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        connectionStorage.withLockedValue { $0.accepted += 1; $0.open[id] = channel }
        channel.closeFuture.whenComplete { _ in
            self.connectionStorage.withLockedValue { _ = $0.open.removeValue(forKey: id) }
        }
    }

    var connections: Int { connectionStorage.withLockedValue { $0.accepted } }
    var openConnections: Int { connectionStorage.withLockedValue { $0.open.count } }
    var openChannels: [any Channel] { connectionStorage.withLockedValue { Array($0.open.values) } }

    // MARK: TLS

    private let tlsStorage = NIOLockedValueBox<(connections: Int, bytes: [UInt8])>((0, []))

    func tlsConnectionAccepted() { tlsStorage.withLockedValue { $0.connections += 1 } }
    func tlsReceived(_ bytes: [UInt8]) { tlsStorage.withLockedValue { if $0.bytes.count < 1 << 20 { $0.bytes += bytes } } }
    var tls: (connections: Int, bytes: [UInt8]) { tlsStorage.withLockedValue { $0 } }

    // MARK: Controls

    private let overrides = NIOLockedValueBox<[String: String]>([:])

    func setScenario(forKeyContaining marker: String, _ scenario: String?) {
        overrides.withLockedValue { $0[marker] = scenario }
    }

    /// The scenario set for `key`, if any (the longest matching marker wins).
    func scenario(for key: String) -> String? {
        overrides.withLockedValue { overrides in
            overrides.filter { key.contains($0.key) }.sorted { ($0.key.count, $0.key) > ($1.key.count, $1.key) }.first?.value
        }
    }

    private let delay = NIOLockedValueBox<TimeAmount>(.milliseconds(10))

    /// Balances set at run time, by key marker (``MockProviderServer/setBalance(forKeyContaining:_:)``).
    let balances = NIOLockedValueBox<[String: String]>([:])

    var streamDelay: TimeAmount {
        get { delay.withLockedValue { $0 } }
        set { delay.withLockedValue { $0 = newValue } }
    }
}

// MARK: Balances

extension MockState {
    func setBalance(forKeyContaining marker: String, _ amount: String?) {
        balances.withLockedValue { $0[marker] = amount }
    }

    /// The balance set for `key`, if any (the longest matching marker wins).
    func balance(for key: String) -> String? {
        balances.withLockedValue { balances in
            balances.filter { key.contains($0.key) }.sorted { ($0.key.count, $0.key) > ($1.key.count, $1.key) }.first?.value
        }
    }
}

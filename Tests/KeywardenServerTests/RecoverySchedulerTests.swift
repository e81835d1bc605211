import Foundation
import KeywardenCore
import KeywardenCrypto
import KeywardenMockProvider
@testable import KeywardenServer
import KeywardenTestSupport
import Logging
import NIOPosix
import Testing

/// A clock the test moves by hand (the vault's clock, which the probes read).
private final class HandClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Timestamp(millisecondsSince1970: 1_800_000_000_000)
    var now: Timestamp { lock.withLock { current } }
    func advance(seconds: Int64) { lock.withLock { current = current.adding(seconds: seconds) } }
}

@Suite("Scheduler: recovery probes of failed keys", .serialized)
struct RecoverySchedulerTests {
    @Test("the scheduler's recovery tick probes a due failed key and brings it back; with recovery off it probes nothing")
    func recoveryTick() async throws {
        let directory = TemporaryDirectory(prefix: "keywarden-recovery-test")
        let clock = HandClock()
        let context = VaultContext(actor: AuditActor(uid: 4000, pid: 42, name: "test"), clock: { clock.now }, logger: Logger(label: "test"),
                                   anchorDirectory: directory.file("state"))
        let vault = try Vault.create(at: VaultLocation(directory: directory.file("home")), slots: [.keyfile(path: directory.file("vault.key"))],
                                     scopes: ["prod"], context: context)
        let mock = try await MockProviderServer.start()
        _ = try vault.updateProvider("anthropic", baseURL: mock.baseURL(for: "anthropic"), env: nil)
        func add(_ marker: String) throws -> String {
            clock.advance(seconds: 1)
            return try vault.addKey(provider: "anthropic", scope: "prod", label: marker, env: nil,
                                    value: SecureBytes(copying: Array("sk-ant-api03-\(marker)-\(String(repeating: "x", count: 40))".utf8)),
                                    activate: false, force: true).key.id
        }
        let alpha = try add("alpha")
        let bravo = try add("bravo")
        _ = try vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(failover: true))
        _ = try vault.report(KeyReport(keyID: alpha, status: 402), by: AuditActor(uid: 4000, pid: 7, name: "client"))
        #expect(try vault.key(id: alpha).state == .failed)
        #expect(try vault.key(id: bravo).state == .active)

        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let state = AgentState(vault: vault)
        let validator = Validator(client: ProbeClient(proxies: ProxySettings(environment: [:])), timeout: .seconds(30), sleep: { _ in })
        func scheduler(_ recovery: RecoveryBackoff?) -> RotationScheduler {
            RotationScheduler(state: state, metrics: AgentMetrics(), logger: Logger(label: "scheduler-test"),
                              settings: SchedulerSettings(interval: nil, validator: validator, recovery: recovery), vaultPool: pool)
        }

        #expect(await scheduler(RecoveryBackoff()).recoveryTick().isEmpty, "not due for a minute")
        clock.advance(seconds: 61)
        #expect(await scheduler(nil).recoveryTick().isEmpty, "--recovery-max-backoff off")
        #expect(mock.requests(withKeyContaining: "alpha") == 0)
        let results = await scheduler(RecoveryBackoff()).recoveryTick()
        #expect(results.map(\.result) == ["recovered"])
        #expect(try vault.key(id: alpha).state == .standby)
        try await pool.shutdownGracefully()
    }
}

@Suite("Gateway: network failures are incidents, never the key's fault")
struct GatewayNetworkIncidentTests {
    @Test("a provider host that does not resolve: the client gets an error, the key keeps its state, the flush records an incident")
    func dnsFailureIsAnIncident() async throws {
        let gw = try await GatewayFixture.start()
        defer { Task { await gw.shutdown() } }
        _ = try gw.vault.updateProvider("anthropic", baseURL: "https://nonexistent.invalid", env: nil)
        let token = try gw.token("app")
        let answer = try await gw.messages(token: token, extra: [("x-keywarden-scope", "prod")])
        #expect(answer.status >= 500, "\(answer.status) \(answer.text)")
        await gw.gateway.traffic.flush()
        let key = gw.fixture.prodAnthropic.id
        #expect(try gw.vault.key(id: key).state == .active)
        let incidents = try gw.vault.recentNetworkIncidents()
        #expect(incidents.contains { $0.source == "gateway" && $0.keyID == key && $0.outcome == .dnsError && $0.verdict.hasPrefix("FAILED at DNS") },
                "\(incidents)")
    }
}

@Suite("Scheduler on PostgreSQL: one host probes", .serialized)
struct RecoverySchedulerLeaseTests {
    @Test("two agents share a PostgreSQL vault: only the one holding the scheduler's lease probes a due failed key",
          .enabled(if: PostgresTestDatabase.isAvailable))
    func onlyTheLeaseHolderProbes() async throws {
        let database = try PostgresTestDatabase()
        let directory = TemporaryDirectory(prefix: "keywarden-recovery-lease")
        let clock = HandClock()
        let context = VaultContext(actor: AuditActor(uid: 4000, pid: 42, name: "test"), clock: { clock.now }, logger: Logger(label: "test"),
                                   anchorDirectory: directory.file("state"))
        let address = VaultAddress.postgres(try DatabaseURL(database.url))
        let first = try Vault.create(in: address, slots: [.keyfile(path: directory.file("vault.key"))], scopes: ["prod"], context: context)
        let second = try Vault.unlock(address.open(), with: .keyfile(path: directory.file("vault.key")), context: context)
        defer { first.postgres?.close(); second.postgres?.close() }
        let mock = try await MockProviderServer.start()
        _ = try first.updateProvider("anthropic", baseURL: mock.baseURL(for: "anthropic"), env: nil)
        func add(_ marker: String) throws -> String {
            clock.advance(seconds: 1)
            return try first.addKey(provider: "anthropic", scope: "prod", label: marker, env: nil,
                                    value: SecureBytes(copying: Array("sk-ant-api03-\(marker)-\(String(repeating: "x", count: 40))".utf8)),
                                    activate: false, force: true).key.id
        }
        let alpha = try add("alpha")
        _ = try add("bravo")
        _ = try first.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(failover: true))
        _ = try first.report(KeyReport(keyID: alpha, status: 402), by: AuditActor(uid: 4000, pid: 7, name: "client"))
        #expect(try first.key(id: alpha).state == .failed)

        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let validator = Validator(client: ProbeClient(proxies: ProxySettings(environment: [:])), timeout: .seconds(30), sleep: { _ in })
        func scheduler(_ vault: Vault) -> RotationScheduler {
            RotationScheduler(state: AgentState(vault: vault), metrics: AgentMetrics(), logger: Logger(label: "scheduler-test"),
                              settings: SchedulerSettings(interval: nil, validator: validator), vaultPool: pool)
        }
        let leader = scheduler(first), follower = scheduler(second)
        _ = await leader.recoveryTick()  // takes the lease; nothing is due yet
        clock.advance(seconds: 61)
        #expect(await follower.recoveryTick().isEmpty, "the other host waits")
        #expect(mock.requests(withKeyContaining: "alpha") == 0)
        #expect(await leader.recoveryTick().map(\.result) == ["recovered"])
        #expect(try second.key(id: alpha).state == .standby)
        try await pool.shutdownGracefully()
        await mock.shutdown()
    }
}

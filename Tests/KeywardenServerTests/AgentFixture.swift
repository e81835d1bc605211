import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardenCore
@testable import KeywardenServer
import KeywardenTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

/// A fresh vault in a temporary folder (keys in prod and dev, config in
/// prod), and the agent's application around it, built by the same
/// `buildApplication` the agent runs. Requests say who sends them with
/// `x-test-peer-uid` (``HeaderPeers``), in place of the kernel's `SO_PEERCRED`.
final class AgentFixture: @unchecked Sendable {
    /// The agent's owner in these tests (not the uid running them, which may be root).
    static let owner: UInt32 = 4000
    /// Another user: needs a token.
    static let other: UInt32 = 1000

    let directory = TemporaryDirectory(prefix: "keywarden-server-test")
    let location: VaultLocation
    let keyfile: String
    let vault: Vault
    let state: AgentState
    let agent: AgentDependencies
    let auditPool = NIOThreadPool(numberOfThreads: 1)
    let vaultPool = NIOThreadPool(numberOfThreads: 2)
    /// The keys stored: prod's anthropic (active) and openai, dev's anthropic.
    let prodAnthropic: KeyInfo, prodOpenAI: KeyInfo, devAnthropic: KeyInfo

    init(peers: (any PeerIdentifier)? = nil, owner: UInt32 = AgentFixture.owner, gateway: GatewaySettings? = nil) throws {
        location = VaultLocation(directory: directory.file("home"))
        keyfile = directory.file("vault.key")
        vault = try Vault.create(at: location, slots: [.keyfile(path: keyfile)], scopes: ["dev", "staging", "prod"], context: Self.context(directory))
        prodAnthropic = try vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: Secrets.secret(copying: TestKeys.anthropic.utf8), activate: false, force: false).key
        prodOpenAI = try vault.addKey(provider: "openai", scope: "prod", label: nil, env: nil, value: Secrets.secret(copying: TestKeys.openai.utf8), activate: false, force: false).key
        devAnthropic = try vault.addKey(provider: "anthropic", scope: "dev", label: nil, env: nil, value: Secrets.secret(copying: TestKeys.anthropic2.utf8), activate: false, force: false).key
        _ = try vault.setConfig(scope: "prod", name: "APP_URL", value: Secrets.secret(copying: "https://app.example".utf8), secret: false)
        _ = try vault.setConfig(scope: "prod", name: "DATABASE_URL", value: Secrets.secret(copying: TestKeys.databaseURL.utf8), secret: true)
        auditPool.start()
        vaultPool.start()
        state = AgentState(vault: vault)
        agent = AgentDependencies(state: state, logger: Logger(label: "agent-test"), auditPool: auditPool, vaultPool: vaultPool,
                                  peers: peers ?? HeaderPeers(), owner: owner, gateway: gateway)
    }

    /// Folders that live as long as the fixture (removed with it).
    private var kept: [TemporaryDirectory] = []
    func keep(_ directory: TemporaryDirectory) { kept.append(directory) }

    static func context(_ directory: TemporaryDirectory) -> VaultContext {
        VaultContext(actor: AuditActor(uid: owner, pid: 42, name: "test"), logger: Logger(label: "test"), anchorDirectory: directory.file("state"))
    }

    /// The application the agent runs, on a socket in the test's folder
    /// (bound only by tests that serve it live).
    func application(onRunning: @escaping @Sendable () -> Void = {}) -> some ApplicationProtocol {
        buildApplication(agent, socket: AgentSocket(path: directory.file("agent.sock")), limits: ConnectionLimits(othersTotal: 16), onRunning: onRunning)
    }

    /// Runs `test` with a client that sends requests straight to the router.
    func test<Value>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await application().test(.router, test)
    }

    /// The vault as another process opens it: what is committed, and nothing else.
    func reopen() throws -> Vault {
        try Vault.unlock(VaultDatabase.open(at: location), with: .keyfile(path: keyfile), context: Self.context(directory))
    }

    /// A token for another user; returns its secret text.
    func token(_ name: String, scopes: [String] = ["prod"], providers: [String] = ["anthropic"], config: [String] = []) throws -> String {
        let (_, secret) = try vault.createToken(name: name, scopes: scopes, providers: providers, config: config, ttl: nil)
        return secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// The `agent.*` events committed so far, as another process reads them.
    func committedEvents(_ action: String) throws -> [AuditEvent] {
        var filter = AuditFilter()
        filter.action = action
        return try reopen().auditEvents(filter)
    }

    deinit {
        auditPool.shutdownGracefully { _ in }
        vaultPool.shutdownGracefully { _ in }
    }
}

/// Who sends a request, as the test says (`x-test-peer-uid`, the owner when
/// absent): the tests' stand-in for the kernel's `SO_PEERCRED`.
struct HeaderPeers: PeerIdentifier {
    static let header = HTTPField.Name("x-test-peer-uid")!

    var samePeerPerConnection: Bool { false }

    func peer(of request: Request, context: AgentRequestContext) async throws -> PeerCredentials {
        Self.peer(request.headers)
    }

    func peer(of channel: any Channel, head: HTTPRequest) -> EventLoopFuture<PeerCredentials> {
        channel.eventLoop.makeSucceededFuture(Self.peer(head.headerFields))
    }

    private static func peer(_ headers: HTTPFields) -> PeerCredentials {
        let uid = headers[header].flatMap(UInt32.init) ?? AgentFixture.owner
        return PeerCredentials(uid: uid, gid: uid, pid: 4242)
    }
}

/// Made-up keys in their providers' formats (no provider accepts them).
enum TestKeys {
    static let anthropic = "sk-ant-api03-" + String(repeating: "Ab3_", count: 23) + "xAA"
    static let anthropic2 = "sk-ant-api03-" + String(repeating: "Zy9-", count: 23) + "qAA"
    static let openai = "sk-proj-" + String(repeating: "q1W2e3R4", count: 6) + "T3BlbkFJ" + String(repeating: "z", count: 20)
    static let databaseURL = "postgres://app:config-secret-5521@db/app"
    static let all = [anthropic, anthropic2, openai, databaseURL]
}

/// Who a test request comes from.
enum Sender {
    case owner
    case root
    /// Another user (``AgentFixture/other``), with a token or without.
    case other(token: String?)

    var headers: HTTPFields {
        var fields = HTTPFields()
        switch self {
        case .owner: break
        case .root: fields[HeaderPeers.header] = "0"
        case .other(let token):
            fields[HeaderPeers.header] = String(AgentFixture.other)
            if let token { fields[.authorization] = "Bearer \(token)" }
        }
        return fields
    }
}

extension TestClientProtocol {
    /// Sends a request as `sender` and returns the answer's status and body text.
    func send(_ method: HTTPRequest.Method, _ uri: String, as sender: Sender = .owner, body: String? = nil,
              headers extra: HTTPFields = [:]) async throws -> (status: Int, body: String) {
        var headers = sender.headers
        headers.append(contentsOf: extra)
        if body != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            (response.status.code, String(buffer: response.body))
        }
    }

    /// `POST /v1/ops/{name}` with `operation` as its JSON body, as the CLI sends it.
    func perform<Operation: ServiceOperation>(_ operation: Operation, as sender: Sender = .owner) async throws -> (status: Int, body: String) {
        try await send(.post, "/v1/ops/\(Operation.name)", as: sender, body: String(decoding: try JSONEncoder().encode(operation), as: UTF8.self))
    }
}

/// The JSON object of an answer.
func object(_ body: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "not a JSON object: \(body)")
}

/// The `{"error", "kind"}` of a failed answer.
func failure(_ body: String) throws -> ServiceFailure {
    try JSONDecoder().decode(ServiceFailure.self, from: Data(body.utf8))
}

import Foundation
import Testing
@testable import KeywardenCore
import KeywardenCrypto
import KeywardenTestSupport

/// The API in-process, but answering as if it were an agent: every operation
/// is encoded as the agent would receive it, and kept, so a test can tell
/// exactly what a client sent; an answer can be replaced to play a hostile agent.
final class RecordingAgent: KeywardenService, @unchecked Sendable {
    let local: LocalService
    /// Every request body, in order (calls are sequential in these tests).
    private(set) var sent: [Data] = []
    /// Replaces the answer to `delivery.environment`.
    var environmentAnswer: [EnvironmentVariable]?

    init(_ vault: Vault, command: String = "keywarden test") {
        local = LocalService(vault: vault, caller: ServiceCaller(actor: AuditActor(uid: 1000, pid: 7, name: "\(command) (via agent)")))
    }

    var endpoint: ServiceEndpoint { .agent(socket: "/test/agent.sock") }

    func perform<Operation: ServiceOperation>(_ operation: Operation) async throws -> Operation.Response {
        sent.append(try JSONEncoder().encode(operation))
        if Operation.self == Delivery.Environment.self, let environmentAnswer {
            return environmentAnswer as! Operation.Response
        }
        return try await local.perform(operation)
    }

    var sentBytes: [UInt8] { sent.flatMap { Array($0) } }
}

/// An agent that answers `delivery.names` with `failure`, as a locked agent
/// or a lost connection would.
struct FailingNamesAgent: KeywardenService {
    let local: LocalService
    let failure: KeywardenError

    var endpoint: ServiceEndpoint { .agent(socket: "/test/agent.sock") }

    func perform<Operation: ServiceOperation>(_ operation: Operation) async throws -> Operation.Response {
        if Operation.self == Delivery.VariableNames.self { throw failure }
        return try await local.perform(operation)
    }
}

@Suite("Delivery, report and lock operations")
struct DeliveryOperationTests {
    func vault() throws -> VaultFixture {
        let f = try VaultFixture()
        _ = try f.vault.addKey(provider: "anthropic", scope: "prod", label: nil, env: nil, value: secret(TestKeys.anthropic), activate: true, force: false)
        _ = try f.vault.setConfig(scope: "prod", name: "APP_URL", value: secret("https://app.example"), secret: false)
        return f
    }

    func value(_ variable: EnvironmentVariable) -> String { variable.value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    @Test("the environment comes sorted, and its delivery is audited under the client's command before the values are returned")
    func environmentAudited() async throws {
        let f = try vault()
        let agent = RecordingAgent(f.vault, command: "keywarden export")
        let variables = try await agent.environment(scope: "prod", only: nil, action: .export, destination: ".env (dotenv)")
        #expect(variables.map(\.name) == ["ANTHROPIC_API_KEY", "APP_URL"])
        #expect(value(variables[0]) == TestKeys.anthropic)
        let events = try f.vault.auditEvents({ var filter = AuditFilter(); filter.action = "export"; return filter }())
        #expect(events.map(\.detail) == ["as ANTHROPIC_API_KEY to .env (dotenv)", "config APP_URL to .env (dotenv)"])
        #expect(events.allSatisfy { $0.actor == "keywarden export (via agent)" && $0.pid == 7 })
    }

    @Test("from an agent only the names asked for are taken; a loader variable only when named")
    func agentAnswerChecked() async throws {
        let f = try vault()
        let agent = RecordingAgent(f.vault)
        func answer(_ names: [String]) -> [EnvironmentVariable] { names.map { EnvironmentVariable(name: $0, value: secret("x")) } }
        func refusal(_ names: [String], only: [String]?) async -> String? {
            agent.environmentAnswer = answer(names)
            do {
                _ = try await agent.environment(scope: "prod", only: only, action: .run, destination: "command env")
                return nil
            } catch {
                return (error as? KeywardenError)?.message ?? "\(error)"
            }
        }
        #expect(await refusal(["A", "LD_PRELOAD"], only: nil)?.contains("the agent sent LD_PRELOAD, which changes how programs load") == true)
        #expect(await refusal(["A", "A"], only: nil)?.contains("twice") == true)
        #expect(await refusal(["A", "B"], only: ["A"])?.contains("the agent sent B, which was not asked for") == true)
        #expect(await refusal(["A"], only: ["A", "B"])?.contains("the agent did not send B") == true)
        #expect(await refusal(["PATH", "A"], only: ["PATH", "A"]) == nil, "named, a loader variable is taken")
        agent.environmentAnswer = answer(["B", "A"])
        #expect(try await agent.environment(scope: "prod", only: nil, action: .run, destination: "x").map(\.name) == ["A", "B"])
    }

    @Test("in-process, a scope's loader variable is delivered as stored (it was imported with --allow)")
    func inProcessLoaderVariable() async throws {
        let f = try vault()
        _ = try f.vault.setConfig(scope: "prod", name: "PATH", value: secret("/opt/app/bin:/usr/bin"), secret: false)
        let local = LocalService(vault: f.vault, caller: ServiceCaller(actor: .currentProcess(name: "keywarden run")))
        #expect(try await local.environment(scope: "prod", only: nil, action: .run, destination: "command env").map(\.name).contains("PATH"))
    }

    @Test("report --env through an agent sends neither the value, its base64, nor its fingerprint, and names the key by id")
    func reportByValueSendsNothingDerived() async throws {
        let f = try vault()
        _ = try f.vault.addKey(provider: "anthropic", scope: "dev", label: nil, env: nil, value: secret(TestKeys.anthropic2), activate: true, force: false)
        let agent = RecordingAgent(f.vault, command: "keywarden report")
        let results = try await agent.reportKey(holding: secret(TestKeys.anthropic), status: 401, detail: nil)
        #expect(results.map(\.scope) == ["prod"])
        let sent = agent.sentBytes
        for form in [TestKeys.anthropic, Data(TestKeys.anthropic.utf8).base64EncodedString(), f.vault.fingerprint(of: secret(TestKeys.anthropic))] {
            #expect(!sent.contains(bytes: Array(form.utf8)), "the request carried \(form.prefix(12))…")
        }
        let reveals = try f.vault.auditEvents({ var filter = AuditFilter(); filter.action = "key.reveal"; return filter }())
        #expect(reveals.count == 1, "only the key whose hint fits is fetched")
        #expect(reveals.first?.detail == "report --env (finding the key)")
        let missing = await #expect(throws: KeywardenError.self) {
            try await agent.reportKey(holding: secret("sk-ant-api03-not-stored-" + String(repeating: "z", count: 40)), status: 401, detail: nil)
        }
        #expect(missing?.kind == .notFound)
    }

    @Test("a template's unknown scope is bad input naming its place; a locked agent or a lost connection keeps its own error and exit code")
    func templateErrors() async throws {
        let f = try vault()
        let template = Array("url: {{ kw://prod/APP_URL }}\n".utf8)
        let unknown = await #expect(throws: KeywardenError.self) {
            _ = try await TemplateDelivery.render(Array("a\n{{ kw://nope/APP_URL }}".utf8), file: "t.tpl", service: RecordingAgent(f.vault),
                                                  action: .inject, destination: "stdout")
        }
        #expect(unknown?.kind == .invalidInput)
        #expect(unknown?.message.contains("t.tpl:2:") == true && unknown?.message.contains("unknown scope 'nope'") == true, "\(unknown?.message ?? "")")

        let local = LocalService(vault: f.vault, caller: ServiceCaller(actor: AuditActor(uid: 1000, pid: 7, name: "keywarden inject")))
        for failure in [KeywardenError(.locked, "the agent is locked"), KeywardenError(.failed, "lost the connection to the agent")] {
            let error = await #expect(throws: KeywardenError.self) {
                _ = try await TemplateDelivery.render(template, file: "t.tpl", service: FailingNamesAgent(local: local, failure: failure),
                                                      action: .inject, destination: "stdout")
            }
            #expect(error?.kind == failure.kind)
            #expect(error?.exitCode == failure.exitCode)
            #expect(error?.message == failure.message)
        }
    }

    @Test("delivery.remember-export refuses a relative path: rotate --reexport would resolve it in the agent's working folder")
    func rememberRelative() async throws {
        let f = try vault()
        let agent = RecordingAgent(f.vault, command: "keywarden export")
        for path in ["app/.env", "./.env", "~/app/.env", ""] {
            let error = await #expect(throws: KeywardenError.self) {
                try await agent.rememberExport(path: path, scope: "prod", format: .dotenv, only: nil)
            }
            #expect(error?.kind == .invalidInput)
            #expect(error?.message.contains("absolute path, not '\(path)'") == true, "\(error?.message ?? "")")
        }
        #expect(try f.vault.read { tx in try tx.exportedFiles() }.isEmpty)
        try await agent.rememberExport(path: f.directory.file("app.env"), scope: "prod", format: .dotenv, only: nil)
        #expect(try f.vault.read { tx in try tx.exportedFiles() }.map(\.path) == [f.directory.file("app.env")])
    }

    @Test("in-process there is no agent to lock")
    func lockInProcess() async throws {
        let f = try vault()
        let local = LocalService(vault: f.vault, caller: ServiceCaller(actor: .currentProcess(name: "keywarden lock")))
        let error = await #expect(throws: KeywardenError.self) { try await local.lockAgent() }
        #expect(error?.kind == .notFound)
    }

    @Test("--only: names split on commas, spaces trimmed; empty or invalid names refused")
    func onlyParsing() throws {
        #expect(try RequestedVariables.parse(only: nil) == nil)
        #expect(try RequestedVariables.parse(only: " A, B_2 ,") == ["A", "B_2"])
        #expect(throws: KeywardenError.self) { try RequestedVariables.parse(only: " , ") }
        #expect(throws: KeywardenError.self) { try RequestedVariables.parse(only: "A,2B") }
    }
}

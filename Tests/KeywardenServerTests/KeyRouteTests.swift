import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardenCore
@testable import KeywardenServer
import Testing

@Suite("Agent routes: keys and values")
struct KeyRouteTests {
    @Test("GET /v1/keys/{provider}?scope= serves the active key; its agent.serve event is committed before the answer")
    func activeKey() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            for round in 1...2 {  // the second from the agent's cache
                let answer = try await client.send(.get, "/v1/keys/anthropic?scope=prod", headers: [.keywardenPurpose: "round \(round)"])
                #expect(answer.status == 200)
                let served = try object(answer.body)
                #expect(served["value"] as? String == TestKeys.anthropic)
                #expect(served["id"] as? String == fixture.prodAnthropic.id)
                #expect(served["env"] as? String == "ANTHROPIC_API_KEY")
                #expect(served["fingerprint"] as? String == fixture.prodAnthropic.fingerprint)
                // Read by another connection right after the answer: already there.
                let events = try fixture.committedEvents("agent.serve")
                #expect(events.contains { $0.keyID == fixture.prodAnthropic.id && $0.detail?.contains("round \(round)") == true },
                        "the event of round \(round) is committed before its answer")
            }
            #expect(try await client.send(.get, "/v1/keys/anthropic").status == 400, "the scope is required")
            let missing = try await client.send(.get, "/v1/keys/anthropic?scope=staging")
            #expect(try missing.status == 404 && failure(missing.body).kind == .notFound)
        }
    }

    @Test("the hand-written answer is exactly what JSONEncoder gives, escapes included")
    func servedKeyJSON() async throws {
        let fixture = try AgentFixture()
        let value = "line\n\"quoted\"\\\t\u{01}é"
        let written = ServedKey.json(fixture.prodAnthropic, Secrets.secret(copying: value.utf8))
        struct Expected: Encodable { var env, fingerprint, id, provider, scope, value: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let key = fixture.prodAnthropic
        let expected = try encoder.encode(Expected(env: key.env, fingerprint: key.fingerprint, id: key.id, provider: key.provider, scope: key.scope, value: value))
        #expect(try JSONSerialization.jsonObject(with: Data(written.readableBytesView)) as? [String: String]
                == JSONSerialization.jsonObject(with: expected) as? [String: String])
        #expect(String(buffer: written) == String(decoding: expected, as: UTF8.self))
    }

    @Test("when the audit trail cannot be written, no value is served (503 {error, kind}), then served again")
    func auditFailsClosed() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            #expect(try await client.send(.get, "/v1/keys/anthropic?scope=prod").status == 200)  // cached from here on
            let holder = try WriteLockHolder(database: fixture.location.databasePath)
            let refused = try await client.send(.get, "/v1/keys/anthropic?scope=prod")
            #expect(refused.status == 503)
            #expect((try failure(refused.body)).error.contains("audit trail cannot be written"))
            #expect(!refused.body.contains(TestKeys.anthropic))
            holder.release()
            #expect(try await client.send(.get, "/v1/keys/anthropic?scope=prod").status == 200)
        }
    }

    @Test("GET /v1/keys lists metadata; GET /v1/values/{id} reveals for the owner, audited with the caller's purpose")
    func listAndReveal() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            let listed = try await client.send(.get, "/v1/keys?scope=prod")
            #expect(listed.status == 200)
            #expect(Set(try JSONDecoder().decode([KeyInfo].self, from: Data(listed.body.utf8)).map(\.id)) == [fixture.prodAnthropic.id, fixture.prodOpenAI.id])
            #expect(!listed.body.contains(TestKeys.anthropic))

            let revealed = try await client.send(.get, "/v1/values/\(fixture.devAnthropic.id)", headers: [.keywardenPurpose: "key show --reveal"])
            #expect(revealed.status == 200)
            #expect(try object(revealed.body)["value"] as? String == TestKeys.anthropic2)
            #expect(try await client.send(.get, "/v1/values/k_doesnotexist").status == 404)
        }
        let reveals = try fixture.committedEvents("key.reveal")
        #expect(reveals.count == 1 && reveals.first?.keyID == fixture.devAnthropic.id && reveals.first?.detail == "key show --reveal")
        #expect(reveals.first?.uid == Int64(AgentFixture.owner))
    }

    @Test("a request body over the upload limit is a 413 (128 KiB; the owner's /v1/ops calls 4 MiB), and nothing is recorded")
    func uploadLimit() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            let detail = String(repeating: "x", count: AgentRequestContext.uploadLimit + 1)
            let report = try await client.send(.post, "/v1/reports", body: #"{"key_id": "\#(fixture.prodAnthropic.id)", "status": 401, "detail": "\#(detail)"}"#)
            #expect(report.status == 413, "\(report.body.prefix(200))")
            // An operation may carry a 1 MiB value in base64: past 128 KiB it
            // is read (an unknown id: 404), past 4 MiB it is refused.
            let operation = try await client.send(.post, "/v1/ops/keys.show", body: #"{"id": "\#(detail)"}"#)
            #expect(operation.status == 404, "\(operation.body.prefix(200))")
            let tooLarge = String(repeating: "x", count: AgentRequestContext.ownerOperationUploadLimit + 1)
            let refused = try await client.send(.post, "/v1/ops/keys.show", body: #"{"id": "\#(tooLarge)"}"#)
            #expect(refused.status == 413)
        }
        #expect(try fixture.committedEvents("key.report").isEmpty)
    }
}

/// Another process holding the vault's write lock (as `sqlite3` would),
/// longer than the vault's busy timeout: no audit event can be committed.
final class WriteLockHolder: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()

    init(database: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=1)
            c.execute("BEGIN IMMEDIATE"); print("held", flush=True); sys.stdin.read(); c.execute("ROLLBACK")
            """, database]
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = input
        try process.run()
        _ = out.fileHandleForReading.availableData  // "held"
    }

    func release() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

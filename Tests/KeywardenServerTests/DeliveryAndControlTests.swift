import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardenCore
@testable import KeywardenServer
import Testing

@Suite("Agent routes: environment, names, exported files, validate and lock")
struct DeliveryAndControlTests {
    @Test("GET /v1/env encodes the scope's variables as export does; every value's event is committed first")
    func environment() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            let dotenv = try await client.send(.get, "/v1/env?scope=prod", headers: [.keywardenPurpose: "export to .env (dotenv)"])
            #expect(dotenv.status == 200)
            #expect(dotenv.body.contains("ANTHROPIC_API_KEY=") && dotenv.body.contains(TestKeys.anthropic) && dotenv.body.contains(TestKeys.databaseURL))
            let events = try fixture.committedEvents("agent.serve")
            #expect(Set(events.compactMap(\.detail)) == ["export to .env (dotenv): ANTHROPIC_API_KEY", "export to .env (dotenv): OPENAI_API_KEY",
                                                         "export to .env (dotenv): config APP_URL", "export to .env (dotenv): config DATABASE_URL"])

            let json = try await client.send(.get, "/v1/env?scope=prod&format=json&only=APP_URL")
            #expect(try JSONDecoder().decode([String: String].self, from: Data(json.body.utf8)) == ["APP_URL": "https://app.example"])
            let base64 = try await client.send(.get, "/v1/env?scope=prod&format=json&only=APP_URL&encoding=base64")
            #expect(try JSONDecoder().decode([String: String].self, from: Data(base64.body.utf8)) == ["APP_URL": Data("https://app.example".utf8).base64EncodedString()])

            let format = try await client.send(.get, "/v1/env?scope=prod&format=yaml")
            #expect(try format.status == 400 && failure(format.body).error.contains("unknown format 'yaml'"))
            #expect(try await client.send(.get, "/v1/env").status == 400)
            let names = try await client.send(.get, "/v1/names?scope=prod")
            #expect(try JSONDecoder().decode([String].self, from: Data(names.body.utf8)) == ["ANTHROPIC_API_KEY", "APP_URL", "DATABASE_URL", "OPENAI_API_KEY"])
        }
    }

    @Test("POST /v1/exported-files remembers a file for re-export; a bad body is a 400 naming the field")
    func exportedFiles() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            let remembered = try await client.send(.post, "/v1/exported-files", body: #"{"path": "/srv/app/.env", "scope": "prod", "format": "dotenv", "only": ["APP_URL"]}"#)
            #expect(remembered.status == 200, "\(remembered.body)")
            #expect(try JSONDecoder().decode([String: String].self, from: Data(remembered.body.utf8)) == ["path": "/srv/app/.env", "scope": "prod", "format": "dotenv"])
            let relative = try await client.send(.post, "/v1/exported-files", body: #"{"path": "app/.env", "scope": "prod", "format": "dotenv"}"#)
            #expect(try relative.status == 400 && failure(relative.body).kind == .invalidInput)
            #expect(try failure(relative.body).error.contains("absolute path, not 'app/.env'"), "\(relative.body)")
            let missing = try await client.send(.post, "/v1/exported-files", body: #"{"path": "/srv/app/.env", "format": "dotenv"}"#)
            #expect(try missing.status == 400 && failure(missing.body).error.contains("missing field `scope`"))
            let noScope = try await client.send(.post, "/v1/exported-files", body: #"{"path": "/srv/app/.env", "scope": "nosuch", "format": "dotenv"}"#)
            #expect(noScope.status == 404)
        }
    }

    @Test("POST /v1/validate runs the checks in the agent; an unknown key is a 404, a bad body a 400")
    func validate() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            let nothing = try await client.send(.post, "/v1/validate", body: #"{"scope": "staging"}"#)
            #expect(nothing.status == 200, "\(nothing.body)")
            let answer = try object(nothing.body)
            #expect((answer["checks"] as? [Any])?.isEmpty == true && (answer["failovers"] as? [Any])?.isEmpty == true)
            #expect(try await client.send(.post, "/v1/validate", body: #"{"key_id": "k_doesnotexist"}"#).status == 404)
            #expect(try await client.send(.post, "/v1/validate", body: #"{"all": "yes"}"#).status == 400)
        }
    }

    @Test("POST /v1/validate clamps its limits (timeout_seconds to 1…3600, concurrency and per_provider to 1…1024), as it always did")
    func validateClamps() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            for body in [#"{"scope": "staging", "timeout_seconds": 0, "concurrency": 0, "per_provider": 0}"#,
                         #"{"scope": "staging", "timeout_seconds": 999999, "concurrency": 5000, "per_provider": 5000}"#,
                         #"{"scope": "staging", "timeout_seconds": -5, "concurrency": -1}"#] {
                let answer = try await client.send(.post, "/v1/validate", body: body)
                #expect(answer.status == 200, "\(body): \(answer.body)")
            }
        }
        #expect(ValidationRoutes.clamp(Int64(0), to: 1...3600) == 1)
        #expect(ValidationRoutes.clamp(Int64(7200), to: 1...3600) == 3600)
        #expect(ValidationRoutes.clamp(30, to: 1...1024) == 30)
    }

    @Test("POST /v1/reports records the outcome and fails over by the pool's policy")
    func reportsFailOver() async throws {
        let fixture = try AgentFixture()
        let spare = "sk-ant-api03-" + String(repeating: "Sp4r", count: 23) + "eAA"
        let standby = try fixture.vault.addKey(provider: "anthropic", scope: "prod", label: "spare", env: nil,
                                               value: Secrets.secret(copying: spare.utf8), activate: false, force: false).key
        _ = try fixture.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(failover: true))
        try await fixture.test { client in
            let answer = try await client.send(.post, "/v1/reports", body: #"{"value": "\#(TestKeys.anthropic)", "status": 401, "detail": "bad key \#(TestKeys.anthropic)"}"#)
            #expect(answer.status == 200, "\(answer.body)")
            let results = try JSONDecoder().decode([ReportResult].self, from: Data(answer.body.utf8))
            #expect(results.map(\.keyID) == [fixture.prodAnthropic.id] && results.first?.replacedBy == standby.id)
            #expect(!answer.body.contains(TestKeys.anthropic), "the value is not echoed")
            let served = try await client.send(.get, "/v1/keys/anthropic?scope=prod")
            #expect(try object(served.body)["id"] as? String == standby.id, "the standby is served at once")
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.body.contains("keywarden_reports_total{outcome=\"invalid\"} 1"))
        }
        let detail = try #require(try fixture.committedEvents("key.report").first?.detail)
        #expect(detail.contains("[key]") && !detail.contains(TestKeys.anthropic))
    }

    @Test("POST /v1/lock records agent.lock and stops serving at once: 423 for values, health says locked")
    func lock() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            #expect(try await client.send(.get, "/v1/keys/anthropic?scope=prod").status == 200)
            let locked = try await client.send(.post, "/v1/lock")
            #expect(locked.status == 200 && locked.body == #"{"status":"locked"}"#)
            #expect(fixture.state.isLocked)
            for uri in ["/v1/keys/anthropic?scope=prod", "/v1/env?scope=prod", "/v1/values/\(fixture.prodAnthropic.id)"] {
                let refused = try await client.send(.get, uri)
                #expect(try refused.status == 423 && failure(refused.body).kind == .locked, "\(uri)")
                #expect(!refused.body.contains(TestKeys.anthropic))
            }
            #expect(try object(try await client.send(.get, "/v1/health").body)["locked"] as? Bool == true)
            #expect(try await client.send(.post, "/v1/lock").status == 200, "a locked agent answers lock too")
            #expect(try await client.send(.post, "/v1/ops/agent.lock", body: "{}").status == 423, "the API needs an unlocked agent")
        }
        let events = try fixture.committedEvents("agent.lock")
        #expect(events.count == 1 && events.first?.uid == Int64(AgentFixture.owner))
    }

    @Test("agent.lock through the API is answered (200), not withheld as 'locked'")
    func lockOperation() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            let locked = try await client.perform(AgentControl.Lock())
            #expect(locked.status == 200 && locked.body == "{}", "\(locked.body)")
            #expect(fixture.state.isLocked)
        }
        #expect(try fixture.committedEvents("agent.lock").count == 1)
    }
}

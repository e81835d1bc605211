import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardenCore
@testable import KeywardenServer
import Testing

@Suite("Agent routes: health, metrics and the Keywarden API at /v1/ops/{name}")
struct ServiceRouteTests {
    @Test("/v1/health answers anyone, without a token and without recording a refusal")
    func health() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            for sender in [Sender.owner, .other(token: nil)] {
                let answer = try await client.send(.get, "/v1/health", as: sender)
                #expect(answer.status == 200)
                let health = try object(answer.body)
                #expect(health["status"] as? String == "ok")
                #expect(health["locked"] as? Bool == false)
                #expect(health["version"] as? String == KeywardenVersion.current)
                #expect(health["started_at"] is String)
            }
        }
        #expect(try fixture.committedEvents("agent.deny").isEmpty)
    }

    @Test("the owner performs operations: keys.list, keys.show, keys.add, keys.reveal, keys.activate")
    func ownerOperations() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            let listed = try await client.perform(Keys.List(KeyFilter(scope: "prod")))
            #expect(listed.status == 200)
            let keys = try JSONDecoder().decode([KeyInfo].self, from: Data(listed.body.utf8))
            #expect(Set(keys.map(\.id)) == [fixture.prodAnthropic.id, fixture.prodOpenAI.id])
            #expect(!listed.body.contains(TestKeys.anthropic), "a listing carries no value")

            let shown = try await client.perform(Keys.Show(id: fixture.devAnthropic.id))
            #expect(try JSONDecoder().decode(KeyInfo.self, from: Data(shown.body.utf8)) == fixture.devAnthropic)

            let value = "sk-ant-api03-" + String(repeating: "Qw7_", count: 23) + "zAA"
            let added = try await client.perform(Keys.Add(provider: "anthropic", scope: "prod", label: "spare", env: nil,
                                                          value: Secrets.secret(copying: value.utf8), activate: false, force: false))
            #expect(added.status == 200, "\(added.body)")
            let spare = try JSONDecoder().decode(AddedKey.self, from: Data(added.body.utf8)).key
            #expect(spare.state == .standby)

            let revealed = try await client.perform(Keys.Reveal(id: spare.id, purpose: "test"))
            let key = try JSONDecoder().decode(RevealedKey.self, from: Data(revealed.body.utf8))
            #expect(key.value.withUnsafeBytes { Array($0) } == Array(value.utf8))

            let activated = try await client.perform(Keys.Activate(id: spare.id))
            #expect(try JSONDecoder().decode(ActivatedKey.self, from: Data(activated.body.utf8)).demoted == fixture.prodAnthropic.id)
        }
        // Audited as the client the agent served, not as the agent.
        let reveals = try fixture.committedEvents("key.reveal")
        #expect(reveals.count == 1 && reveals.first?.uid == Int64(AgentFixture.owner) && reveals.first?.pid == 4242)
    }

    @Test("a malformed operation is a 400 with {error, kind} naming the field, never a 500")
    func malformedOperation() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            for (body, fault) in [("not json", "not valid JSON"), ("{}", "missing field `id`"), (#"{"id": 7}"#, "field `id` has the wrong type"), ("", "not valid JSON")] {
                let answer = try await client.send(.post, "/v1/ops/keys.show", body: body)
                #expect(answer.status == 400, "\(body): \(answer.body)")
                let error = try failure(answer.body)
                #expect(error.kind == .invalidInput)
                #expect(error.error.contains(fault) && error.error.contains("keys.show"), "\(error.error)")
            }
            // A value that is not base64 is refused without being quoted.
            let badSecret = try await client.send(.post, "/v1/ops/keys.add",
                                                  body: #"{"provider":"anthropic","scope":"prod","value":"sk-not-base64!!","activate":false,"force":false}"#)
            #expect(badSecret.status == 400 && !badSecret.body.contains("sk-not-base64"), "\(badSecret.body)")
            #expect(try await client.send(.post, "/v1/ops/no.such.operation", body: "{}").status == 404)
        }
    }

    @Test("domain errors keep their status and kind: not found 404, invalid 400, conflict 409, locked 423")
    func domainErrors() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            let missing = try await client.perform(Keys.Show(id: "k_doesnotexist"))
            #expect(try missing.status == 404 && failure(missing.body).kind == .notFound)

            let badScope = try await client.perform(Keys.Add(provider: "anthropic", scope: "No Such Scope!", label: nil, env: nil,
                                                             value: Secrets.secret(copying: "x".utf8), activate: false, force: false))
            #expect(try badScope.status == 400 && failure(badScope.body).kind == .invalidInput, "\(badScope.body)")

            // The same value twice in one pool.
            let again = try await client.perform(Keys.Add(provider: "anthropic", scope: "prod", label: nil, env: nil,
                                                          value: Secrets.secret(copying: TestKeys.anthropic.utf8), activate: false, force: false))
            #expect(try again.status == 409 && failure(again.body).kind == .conflict, "\(again.body)")

            fixture.state.lock()
            let locked = try await client.perform(Keys.List(KeyFilter()))
            #expect(try locked.status == 423 && failure(locked.body).kind == .locked)
            let health = try object(try await client.send(.get, "/v1/health").body)
            #expect(health["locked"] as? Bool == true)
        }
    }

    @Test("/metrics counts requests by route template and status, and holds no secret")
    func metrics() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            #expect(try await client.send(.get, "/v1/keys/anthropic?scope=prod").status == 200)
            #expect(try await client.send(.get, "/v1/keys/anthropic?scope=nosuch").status != 200)
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("keywarden_requests_total{route=\"/v1/keys/{provider}\",status=\"200\"} 1"), "\(metrics.body)")
            #expect(metrics.body.contains("keywarden_values_served_total 1"))
            for secret in TestKeys.all { #expect(!metrics.body.contains(secret)) }
            #expect(!metrics.body.contains(fixture.prodAnthropic.fingerprint))
            #expect(try await client.send(.get, "/metrics", as: .other(token: nil)).status == 403)
        }
    }

    @Test("values served through /v1/ops count like those of /v1/keys and /v1/env: keys.reveal, config.get, each variable of delivery.environment")
    func operationValuesCounted() async throws {
        let fixture = try AgentFixture()
        try await fixture.test { client in
            func served() async throws -> String? {
                let body = try await client.send(.get, "/metrics").body
                return body.split(separator: "\n").first { $0.hasPrefix("keywarden_values_served_total ") }.map(String.init)
            }
            #expect(try await served() == "keywarden_values_served_total 0")
            #expect(try await client.perform(Keys.Reveal(id: fixture.prodAnthropic.id, purpose: "test")).status == 200)
            #expect(try await served() == "keywarden_values_served_total 1")
            #expect(try await client.perform(Config.Get(scope: "prod", name: "DATABASE_URL")).status == 200)
            #expect(try await served() == "keywarden_values_served_total 2")
            let environment = try await client.perform(Delivery.Environment(scope: "prod", only: nil, action: .export, destination: "stdout"))
            #expect(environment.status == 200)
            let variables = try JSONDecoder().decode([EnvironmentVariable].self, from: Data(environment.body.utf8))
            #expect(variables.count == 4)
            #expect(try await served() == "keywarden_values_served_total \(2 + variables.count)")
            // Answers without a value count nothing.
            #expect(try await client.perform(Keys.List(KeyFilter())).status == 200)
            #expect(try await client.perform(Delivery.VariableNames(scope: "prod")).status == 200)
            #expect(try await served() == "keywarden_values_served_total \(2 + variables.count)")
        }
    }
}

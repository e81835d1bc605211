import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardenCore
@testable import KeywardenServer
import Testing

@Suite("Agent routes: who may ask (the owner, root, other users with a token)")
struct TokenAccessTests {
    @Test("another uid is refused without a valid token (403, audited); root and the owner need none")
    func identification() async throws {
        let fixture = try AgentFixture()
        let token = try fixture.token("web")
        try await fixture.test { client in
            let refused = try await client.send(.get, "/v1/keys/anthropic?scope=prod", as: .other(token: nil))
            #expect(refused.status == 403)
            #expect((try failure(refused.body)).error.contains("sent no token"))
            #expect(!refused.body.contains(TestKeys.anthropic))
            #expect(try await client.send(.get, "/v1/keys/anthropic?scope=prod", as: .other(token: "kwt_forged")).status == 403)
            #expect(try await client.send(.get, "/v1/keys/anthropic?scope=prod", as: .other(token: token)).status == 200)
            #expect(try await client.send(.get, "/v1/keys/anthropic?scope=prod", as: .root).status == 200)
            #expect(try await client.send(.get, "/v1/keys/anthropic?scope=prod", as: .owner).status == 200)
        }
        let denials = try fixture.committedEvents("agent.deny")
        #expect(denials.count == 2)
        #expect(denials.allSatisfy { $0.uid == Int64(AgentFixture.other) && $0.pid == 4242 })
    }

    @Test("a token reads within its grant; outside it the answer is exactly that of something that does not exist")
    func grants() async throws {
        let fixture = try AgentFixture()
        let web = try fixture.token("web")
        let cfg = try fixture.token("cfg", config: ["APP_URL"])
        try await fixture.test { client in
            let served = try await client.send(.get, "/v1/keys/anthropic?scope=prod", as: .other(token: web))
            #expect(served.status == 200 && served.body.contains(TestKeys.anthropic))

            func same(_ first: String, _ second: String, token: String) async throws {
                let a = try await client.send(.get, first, as: .other(token: token))
                let b = try await client.send(.get, second, as: .other(token: token))
                #expect(a.status == 404 && a.status == b.status && a.body == b.body, "\(first): \(a.body) / \(second): \(b.body)")
                #expect(try failure(a.body).error == "not found, or not granted to this token")
            }
            try await same("/v1/keys/openai?scope=prod", "/v1/keys/nosuch?scope=prod", token: web)
            try await same("/v1/keys/anthropic?scope=dev", "/v1/keys/anthropic?scope=nosuch", token: web)
            try await same("/v1/keys/anthropic?scope=staging", "/v1/keys/anthropic?scope=dev", token: try fixture.token("all", scopes: ["prod", "staging"]))
            try await same("/v1/env?scope=prod&only=DATABASE_URL", "/v1/env?scope=prod&only=NO_SUCH_NAME", token: cfg)

            // Listings leave out what is not granted.
            let keys = try await client.send(.get, "/v1/keys?scope=prod", as: .other(token: web))
            #expect(try JSONDecoder().decode([KeyInfo].self, from: Data(keys.body.utf8)).map(\.id) == [fixture.prodAnthropic.id])
            #expect(try await client.send(.get, "/v1/keys", as: .other(token: web)).status == 403, "a token names its scope")
            let env = try await client.send(.get, "/v1/env?scope=prod&format=json", as: .other(token: web))
            #expect(env.status == 200 && env.body.contains(TestKeys.anthropic))
            #expect(!env.body.contains("APP_URL") && !env.body.contains(TestKeys.databaseURL) && !env.body.contains(TestKeys.openai))
            let granted = try await client.send(.get, "/v1/env?scope=prod&format=json", as: .other(token: cfg))
            #expect(granted.body.contains("https://app.example") && !granted.body.contains(TestKeys.databaseURL))
            let names = try await client.send(.get, "/v1/names?scope=prod", as: .other(token: web))
            #expect(try JSONDecoder().decode([String].self, from: Data(names.body.utf8)) == ["ANTHROPIC_API_KEY"])
        }
        let denials = try fixture.committedEvents("agent.deny")
        #expect(denials.contains { $0.detail?.contains("token 'web' may not read scope dev") == true })
    }

    @Test("owner-only routes refuse a token (403) before they run; the owner and root may use them")
    func ownerOnly() async throws {
        let fixture = try AgentFixture()
        let token = try fixture.token("web", config: ["*"])
        try await fixture.test { client in
            let asToken = Sender.other(token: token)
            let routes: [(HTTPRequest.Method, String, String?)] = [
                (.get, "/v1/values/\(fixture.prodAnthropic.id)", nil),
                (.post, "/v1/validate", "{}"),
                (.post, "/v1/exported-files", #"{"path": "/tmp/x.env", "scope": "prod", "format": "dotenv"}"#),
                (.post, "/v1/ops/keys.list", #"{"filter": {}}"#),
                (.post, "/v1/ops/keys.reveal", #"{"id": "\#(fixture.prodAnthropic.id)", "purpose": "x"}"#),
                (.post, "/v1/lock", nil),
            ]
            for (method, uri, body) in routes {
                let answer = try await client.send(method, uri, as: asToken, body: body)
                #expect(answer.status == 403, "\(uri): \(answer.body)")
                #expect(answer.body.contains("for the agent's owner only"))
                #expect(!answer.body.contains(TestKeys.anthropic))
            }
            #expect(!fixture.state.isLocked)
            #expect(try await client.send(.post, "/v1/ops/keys.list", as: .root, body: #"{"filter": {}}"#).status == 200)
            #expect(try await client.send(.get, "/v1/values/\(fixture.prodAnthropic.id)", as: .owner).status == 200)
        }
        #expect(try fixture.committedEvents("key.reveal").count == 1, "only the owner's reveal happened")
    }

    @Test("a token's report about a key outside its grant changes nothing and answers like an unknown key")
    func reports() async throws {
        let fixture = try AgentFixture()
        let web = try fixture.token("web")
        try await fixture.test { client in
            func report(_ json: String) async throws -> (status: Int, body: String) {
                try await client.send(.post, "/v1/reports", as: .other(token: web), body: json)
            }
            let byID = try await report(#"{"key_id": "\#(fixture.devAnthropic.id)", "status": 401}"#)
            let noID = try await report(#"{"key_id": "k_doesnotexist", "status": 401}"#)
            #expect(byID.status == 404 && byID.body == noID.body && !byID.body.contains(fixture.devAnthropic.id))
            let byValue = try await report(#"{"value": "\#(TestKeys.anthropic2)", "status": 401}"#)
            let noValue = try await report(#"{"value": "sk-ant-api03-unknown", "status": 401}"#)
            #expect(byValue.status == 404 && byValue.body == noValue.body)
            // Within the grant: recorded.
            let mine = try await report(#"{"key_id": "\#(fixture.prodAnthropic.id)", "status": 401, "detail": "Incorrect API key"}"#)
            #expect(mine.status == 200, "\(mine.body)")
            #expect(try await report(#"{"status": "401"}"#).status == 400)
        }
        let recorded = try fixture.committedEvents("key.report")
        #expect(recorded.map(\.keyID) == [fixture.prodAnthropic.id])
        #expect(try fixture.reopen().key(id: fixture.devAnthropic.id).outcome == nil)
    }
}

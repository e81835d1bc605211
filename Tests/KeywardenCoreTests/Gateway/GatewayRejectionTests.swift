import Foundation
import Testing
@testable import KeywardenCore
import KeywardenCrypto

@Suite("Gateway rejections: the key's record, the audit trail, failover")
struct GatewayRejectionTests {
    static let caller = AuditActor(uid: 1234, pid: 5678, name: "gateway peer uid=1234 (python3)")

    func rejection(_ keyID: String, _ outcome: GatewayOutcome = .invalid, status: Int = 401, confirmed: Bool?,
                   detail: String = "HTTP 401 from anthropic for POST /v1/messages") -> GatewayRejection {
        GatewayRejection(keyID: keyID, outcome: outcome, status: status, detail: detail, caller: Self.caller, confirmed: confirmed)
    }

    func events(_ vault: Vault, _ action: String) throws -> [AuditEvent] {
        var filter = AuditFilter()
        filter.action = action
        return try vault.auditEvents(filter)
    }

    @Test("a confirmed rejection sets the key's outcome and audits gateway.reject for the caller")
    func confirmed() throws {
        let g = try GatewayVault()
        let id = try g.add("one")
        let promoted = try g.vault.recordGatewayRejection(rejection(id, confirmed: true))
        #expect(promoted == nil)
        let key = try g.vault.key(id: id)
        #expect(key.outcome == "invalid")
        #expect(key.state == .active, "failover is off: the key keeps serving")
        #expect(key.detail?.contains("HTTP 401 from anthropic for POST /v1/messages") == true)
        #expect(key.detail?.contains("uid 1234, pid 5678") == true)
        let event = try #require(try events(g.vault, "gateway.reject").only)
        #expect(event.keyID == id)
        #expect(event.fingerprint == key.fingerprint)
        #expect(event.outcome == "invalid")
        #expect(event.provider == "anthropic" && event.scope == "prod")
        #expect(event.actor == Self.caller.name && event.uid == 1234 && event.pid == 5678)
        #expect(event.detail == "HTTP 401 from anthropic for POST /v1/messages; a probe confirmed it")
        #expect(try events(g.vault, "key.failover").isEmpty)
    }

    @Test("an unprobed no-credit answer is taken as it is")
    func unprobed() throws {
        let g = try GatewayVault()
        let id = try g.add("one")
        try g.vault.recordGatewayRejection(rejection(id, .noCredit, status: 400, confirmed: nil,
                                                     detail: "HTTP 400 from anthropic for POST /v1/messages"))
        #expect(try g.vault.key(id: id).outcome == "no_credit")
        let event = try #require(try events(g.vault, "gateway.reject").only)
        #expect(event.outcome == "no_credit")
        #expect(event.detail == "HTTP 400 from anthropic for POST /v1/messages")
    }

    @Test("with failover on, a rejected active key gives way to the oldest healthy standby (key.failover)")
    func failover() throws {
        let g = try GatewayVault()
        let active = try g.add("one")
        let bad = try g.add("two")
        let standby = try g.add("three")
        try g.add("four")
        _ = try g.vault.report(KeyReport(keyID: bad, status: 401), by: g.vault.context.actor)
        try g.failover(true)
        let promoted = try g.vault.recordGatewayRejection(rejection(active, .forbidden, status: 403, confirmed: true,
                                                                    detail: "HTTP 403 from anthropic for POST /v1/messages"))
        #expect(promoted == standby)
        #expect(try g.vault.key(id: active).state == .failed)
        #expect(try g.vault.key(id: standby).state == .active)
        let failover = try #require(try events(g.vault, "key.failover").only)
        #expect(failover.keyID == standby)
        #expect(failover.detail?.contains("\(standby) replaced \(active)") == true)
        #expect(failover.detail?.contains("gateway: HTTP 403 from anthropic for POST /v1/messages for \(Self.caller.name)") == true)
        // The next pool serves the promoted key first.
        #expect(try g.vault.gatewayPool(provider: "anthropic", scope: "prod").members.first?.key.id == standby)
    }

    @Test("with failover on but no healthy standby, the key is marked and stays active")
    func failoverWithoutStandby() throws {
        let g = try GatewayVault()
        let active = try g.add("one")
        try g.failover(true)
        #expect(try g.vault.recordGatewayRejection(rejection(active, confirmed: true)) == nil)
        #expect(try g.vault.key(id: active).state == .active)
        #expect(try g.vault.key(id: active).outcome == "invalid")
    }

    @Test("a standby's rejection marks it, so the next pool leaves it out, and promotes nothing")
    func standbyRejected() throws {
        let g = try GatewayVault()
        let active = try g.add("one")
        let standby = try g.add("two")
        try g.failover(true)
        #expect(try g.vault.recordGatewayRejection(rejection(standby, confirmed: true)) == nil)
        #expect(try g.vault.key(id: active).state == .active)
        #expect(try g.vault.key(id: standby).state == .standby)
        #expect(try g.vault.gatewayPool(provider: "anthropic", scope: "prod").members.map(\.key.id) == [active])
    }

    @Test("a rejection the probe disconfirmed is audited, and the key is left alone even with failover on")
    func disconfirmed() throws {
        let g = try GatewayVault()
        let active = try g.add("one")
        let standby = try g.add("two")
        try g.failover(true)
        let before = try g.vault.key(id: active)
        #expect(try g.vault.recordGatewayRejection(rejection(active, confirmed: false)) == nil)
        #expect(try g.vault.key(id: active) == before)
        #expect(try g.vault.key(id: standby).state == .standby)
        let event = try #require(try events(g.vault, "gateway.reject").only)
        #expect(event.outcome == "invalid")
        #expect(event.detail?.hasSuffix("not confirmed by a probe of the key, so its state is left alone (the request's own headers, model or size may be at fault)") == true)
        #expect(try events(g.vault, "key.failover").isEmpty)
    }

    @Test("an outcome that is not an auth failure is audited only")
    func notAuthFailure() throws {
        let g = try GatewayVault()
        let active = try g.add("one")
        try g.add("two")
        try g.failover(true)
        let before = try g.vault.key(id: active)
        #expect(try g.vault.recordGatewayRejection(rejection(active, .rateLimited, status: 429, confirmed: nil)) == nil)
        #expect(try g.vault.key(id: active) == before)
        #expect(try events(g.vault, "gateway.reject").count == 1)
    }

    @Test("a key removed meanwhile: nothing is recorded, nothing thrown")
    func unknownKey() throws {
        let g = try GatewayVault()
        try g.add("one")
        #expect(try g.vault.recordGatewayRejection(rejection("k_nosuchkey", confirmed: true)) == nil)
        #expect(try events(g.vault, "gateway.reject").isEmpty)
    }

    @Test("audit --failed-auth lists gateway.reject events for invalid and forbidden keys")
    func failedAuth() throws {
        let g = try GatewayVault()
        let one = try g.add("one")
        let two = try g.add("two")
        try g.vault.recordGatewayRejection(rejection(one, confirmed: true))
        try g.vault.recordGatewayRejection(rejection(two, .forbidden, status: 403, confirmed: false))
        var filter = AuditFilter()
        filter.failedAuth = true
        let listed = try g.vault.auditEvents(filter)
        #expect(listed.filter { $0.action == "gateway.reject" }.map(\.keyID) == [one, two])
        #expect(listed.allSatisfy { ["invalid", "forbidden"].contains($0.outcome) })
        #expect(try AuditActions.normalize("gateway.reject") == "gateway.reject")
        #expect(try AuditActions.normalize("gateway") == "gateway")
        #expect(try AuditActions.normalize("reject") == "reject")
        #expect(AuditActions.names.contains("gateway.forward"))
    }

    @Test("no detail, anywhere, holds the key's value, even when the caller's text echoes it")
    func noValueInDetails() throws {
        let g = try GatewayVault()
        let active = try g.add("one")
        try g.add("two")
        try g.failover(true)
        let value = GatewayVault.value("one")
        var echoing = rejection(active, confirmed: true, detail: "HTTP 401 from anthropic for POST /v1/keys/\(value)/check")
        echoing.caller.name = "client \(value)"
        try g.vault.recordGatewayRejection(echoing)
        let all = try g.vault.auditEvents(AuditFilter())
        for event in all {
            #expect(event.detail?.contains(value) != true, "\(event.action)")
            #expect(!event.actor.contains(value))
        }
        let reject = try #require(all.first { $0.action == "gateway.reject" })
        #expect(reject.detail?.contains("/v1/keys/[key]/check") == true)
        for key in try g.vault.listKeys(KeyFilter()) {
            #expect(key.detail?.contains(value) != true)
        }
        #expect(!(try g.vault.key(id: active).detail ?? "").contains("sk-ant-api03-one"))
    }
}

extension Array {
    /// The one element, or nil when there are none or several.
    var only: Element? { count == 1 ? first : nil }
}

@Suite("Gateway rejections: the detail text")
struct GatewayRejectionDetailTests {
    @Test("method and path, never the query or fragment")
    func detail() {
        #expect(GatewayRejection.detail(status: 401, provider: "anthropic", method: "POST", path: "/v1/messages") == "HTTP 401 from anthropic for POST /v1/messages")
        #expect(GatewayRejection.detail(status: 400, provider: "gemini", method: "POST", path: "/v1beta/models/gemini-2.0-flash:generateContent?key=AIzaSyX")
                == "HTTP 400 from gemini for POST /v1beta/models/gemini-2.0-flash:generateContent")
        #expect(GatewayRejection.detail(status: 403, provider: "openai", method: "GET", path: "/v1/models#frag") == "HTTP 403 from openai for GET /v1/models")
        #expect(GatewayRejection.detail(status: 401, provider: "openai", method: "GET", path: "?key=x") == "HTTP 401 from openai for GET /")
    }
}

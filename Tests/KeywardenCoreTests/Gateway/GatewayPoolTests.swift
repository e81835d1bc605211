import Foundation
import Testing
@testable import KeywardenCore
import KeywardenCrypto

@Suite("Gateway pool: which keys serve a scope, in which order")
struct GatewayPoolTests {
    @Test("without failover or spread the active key alone serves, decrypted")
    func activeOnly() throws {
        let g = try GatewayVault()
        let active = try g.add("one")
        try g.add("two")
        let pool = try g.vault.gatewayPool(provider: "anthropic", scope: "prod")
        #expect(pool.members.count == 1)
        #expect(pool.members[0].key.id == active)
        #expect(pool.members[0].role == .active)
        #expect(pool.members[0].value.text == GatewayVault.value("one"))
        #expect(pool.failover == false && pool.spread == nil)
        #expect(pool.scope == "prod" && pool.poolScope == "prod")
        #expect(pool.provider.name == "anthropic")
    }

    @Test("with failover on: the active key, then healthy standbys oldest first")
    func standbyOrder() throws {
        let g = try GatewayVault()
        let active = try g.add("one")
        let second = try g.add("two")
        let third = try g.add("three")
        let fourth = try g.add("four")
        try g.failover(true)
        let pool = try g.vault.gatewayPool(provider: "anthropic", scope: "prod")
        #expect(pool.failover)
        #expect(pool.members.map(\.key.id) == [active, second, third, fourth])
        #expect(pool.members.map(\.role) == [.active, .standby, .standby, .standby])
        #expect(pool.members.map(\.value.text) == ["one", "two", "three", "four"].map(GatewayVault.value))
    }

    @Test("the standbys are the ones failover would promote, in that order")
    func sameOrderAsFailover() throws {
        let g = try GatewayVault()
        let active = try g.add("one")
        try g.add("two")
        try g.add("three")
        try g.failover(true)
        let pool = try g.vault.gatewayPool(provider: "anthropic", scope: "prod")
        let promoted = try g.vault.report(KeyReport(keyID: active, status: 401), by: g.vault.context.actor)[0].replacedBy
        #expect(promoted == pool.members[1].key.id)
    }

    @Test("a standby found bad is left out; one never checked or found valid stays")
    func unhealthyStandbyExcluded() throws {
        let g = try GatewayVault()
        let active = try g.add("one")
        let bad = try g.add("two")
        let forbidden = try g.add("three")
        let good = try g.add("four")
        try g.failover(true)
        _ = try g.vault.report(KeyReport(keyID: bad, status: 401), by: g.vault.context.actor)
        _ = try g.vault.report(KeyReport(keyID: forbidden, status: 403), by: g.vault.context.actor)
        _ = try g.vault.report(KeyReport(keyID: good, status: 200), by: g.vault.context.actor)
        let pool = try g.vault.gatewayPool(provider: "anthropic", scope: "prod")
        #expect(pool.members.map(\.key.id) == [active, good])
    }

    @Test("a child scope without keys is served by its parent's pool, under the parent's policy")
    func inheritance() throws {
        let g = try GatewayVault()
        _ = try g.vault.addScope("prod/eu", parent: "prod")
        _ = try g.vault.addScope("prod/eu/paris", parent: "prod/eu")
        let active = try g.add("one")
        let standby = try g.add("two")
        try g.failover(true)
        let pool = try g.vault.gatewayPool(provider: "anthropic", scope: "prod/eu/paris")
        #expect(pool.scope == "prod/eu/paris")
        #expect(pool.poolScope == "prod")
        #expect(pool.failover, "the pool's scope's policy, as failover reads it")
        #expect(pool.members.map(\.key.id) == [active, standby])

        // A child's own policy does not govern a pool it only borrows.
        try g.failover(false, scope: "prod/eu")
        let borrowed = try g.vault.gatewayPool(provider: "anthropic", scope: "prod/eu")
        #expect(borrowed.poolScope == "prod" && borrowed.failover && borrowed.members.count == 2)
    }

    @Test("a child scope with its own active key has its own pool; the parent's policy reaches it unless it sets one")
    func childPool() throws {
        let g = try GatewayVault()
        _ = try g.vault.addScope("prod/eu", parent: "prod")
        try g.add("one")
        try g.add("two")
        let child = try g.add("three", scope: "prod/eu")
        let childStandby = try g.add("four", scope: "prod/eu")
        try g.failover(true)
        var pool = try g.vault.gatewayPool(provider: "anthropic", scope: "prod/eu")
        #expect(pool.poolScope == "prod/eu")
        #expect(pool.failover, "inherited from prod")
        #expect(pool.members.map(\.key.id) == [child, childStandby])

        try g.failover(false, scope: "prod/eu")
        pool = try g.vault.gatewayPool(provider: "anthropic", scope: "prod/eu")
        #expect(!pool.failover)
        #expect(pool.members.map(\.key.id) == [child])
    }

    @Test("with spread on and failover off, the healthy standbys serve too; a spread set on a parent reaches a borrowing child")
    func spread() throws {
        let g = try GatewayVault()
        _ = try g.vault.addScope("prod/eu", parent: "prod")
        let active = try g.add("one")
        let bad = try g.add("two")
        let standby = try g.add("three")
        _ = try g.vault.report(KeyReport(keyID: bad, status: 402), by: g.vault.context.actor)
        _ = try g.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(spread: .some(.roundRobin)))
        let pool = try g.vault.gatewayPool(provider: "anthropic", scope: "prod/eu")
        #expect(pool.spread == .roundRobin && !pool.failover)
        #expect(pool.members.map(\.key.id) == [active, standby])
        #expect(pool.members.map(\.value.text) == [GatewayVault.value("one"), GatewayVault.value("three")])

        _ = try g.vault.setRotationPolicy(provider: "anthropic", scope: "prod", RotationPolicyChange(spread: .some(nil)))
        #expect(try g.vault.gatewayPool(provider: "anthropic", scope: "prod").members.count == 1)
    }

    @Test("no active key anywhere up the chain, an unknown scope or provider: errors that say so")
    func errors() throws {
        let g = try GatewayVault()
        try g.add("one", scope: "dev")
        #expect(throws: KeywardenError.self) { try g.vault.gatewayPool(provider: "anthropic", scope: "prod") }
        #expect(throws: KeywardenError.self) { try g.vault.gatewayPool(provider: "anthropic", scope: "nowhere") }
        #expect(throws: KeywardenError.self) { try g.vault.gatewayPool(provider: "nosuchprovider", scope: "dev") }
        do {
            _ = try g.vault.gatewayPool(provider: "anthropic", scope: "prod")
        } catch {
            #expect(error.kind == .notFound)
        }
    }
}

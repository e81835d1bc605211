import Foundation
import KeywardenTestSupport
import Testing

/// `rotate policy … --spread` and the gateway's 24 h view in `key list` and
/// `status`, directly and through the agent (where KeyInfo and the status
/// travel as JSON).
@Suite("End to end: the gateway's pool switch and 24 h view")
struct GatewayPolicyViewTests {
    @Test("--spread sets, lists and clears the switch; a bad value exits 2 naming the flag and changes nothing", arguments: CLIMode.allCases)
    func spread(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        let bad = try cli.run(["rotate", "policy", "anthropic", "--scope", "prod", "--spread", "sideways"])
        #expect(bad.status == 2)
        #expect(bad.err.contains("--spread") && bad.err.contains("round-robin, least-in-flight or off"), "\(bad.err)")
        #expect(try cli.ok(["rotate", "policy", "list"]).out.contains("No rotation policies"))

        #expect(try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--spread", "round-robin"]).out.contains("spread round-robin"))
        let list = try cli.ok(["rotate", "policy", "list"]).out
        #expect(list.contains("SPREAD") && list.contains("round-robin"), "\(list)")
        let json = try #require(try cli.json(try cli.ok(["rotate", "policy", "list", "--json"])) as? [[String: Any]])
        #expect(json.first?["spread"] as? String == "round-robin")

        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--spread", "off"])
        let off = try #require(try cli.json(try cli.ok(["rotate", "policy", "list", "--json"])) as? [[String: Any]])
        #expect(off.first?["spread"] == nil)
        #expect(try cli.ok(["audit", "--action", "rotate.policy"]).out.contains("spread round-robin"))
    }

    @Test("key list shows 24H OK, FAILED and 429 only when some key has traffic; status adds one line", arguments: CLIMode.allCases)
    func trafficView(mode: CLIMode) throws {
        let cli = CLIHarness(mode)
        try cli.initVault()
        let busy = try cli.addKey("anthropic", scope: "prod", value: FakeKeys.anthropic())
        _ = try cli.addKey("openai", scope: "prod", value: FakeKeys.openai())
        #expect(!(try cli.ok(["key", "list"]).out.contains("24H OK")))
        #expect(!(try cli.ok(["status"]).out.contains("gateway traffic")))

        // Observations without a MAC: what the agent's flush writes, this hour and last hour.
        try cli.sqlite("""
            INSERT INTO key_traffic (key_id, hour, ok, failed, rate_limited, errors) VALUES
              ('\(busy)', strftime('%Y-%m-%dT%H:00:00Z', 'now'), 5, 1, 2, 3),
              ('\(busy)', strftime('%Y-%m-%dT%H:00:00Z', 'now', '-1 hour'), 10, 0, 0, 0),
              ('\(busy)', strftime('%Y-%m-%dT%H:00:00Z', 'now', '-2 days'), 1000, 0, 0, 0);
            """)
        let table = try cli.ok(["key", "list"]).out
        for column in ["24H OK", "FAILED", "429"] { #expect(table.contains(column), "\(table)") }
        let lines = table.split(separator: "\n")
        #expect(lines.first { $0.contains(busy) }?.split(separator: " ").suffix(3) == ["15", "1", "2"], "\(table)")
        #expect(lines.first { $0.contains("openai") }?.hasSuffix("-") == true, "\(table)")

        let keys = try #require(try cli.json(try cli.ok(["key", "list", "--json"])) as? [[String: Any]])
        let traffic = try #require(keys.first { $0["id"] as? String == busy }?["traffic_24h"] as? [String: Int])
        #expect(traffic == ["ok": 15, "failed": 1, "rate_limited": 2, "errors": 3])
        #expect(keys.first { $0["provider"] as? String == "openai" }?["traffic_24h"] == nil)

        #expect(try cli.ok(["status"]).out.contains("gateway traffic (24 h): 21 requests, 1 failed, 2 rate-limited"))
        let status = try #require(try cli.json(try cli.ok(["status", "--json"])) as? [String: Any])
        #expect((status["gateway_traffic_24h"] as? [String: Int])?["ok"] == 15)
    }
}

import Foundation
import KeywardenMockProvider
import KeywardenTestSupport
import Testing

/// Issue 14.3: rotation through the providers' own APIs, with the real binary
/// and the mock provider's admin APIs on loopback.
@Suite("End to end: rotation through the providers' admin APIs", .serialized)
struct RotationAPIEndToEndTests {
    static let openaiAdmin = "sk-admin-" + String(repeating: "A", count: 40) + "T3BlbkFJ" + String(repeating: "z", count: 20)
    static let openrouterManagement = "sk-or-v1-" + String(repeating: "ab12", count: 16)
    static let anthropicAdmin = "sk-ant-admin01-" + String(repeating: "Q", count: 80) + "AA"

    /// A vault whose `provider` points at the mock, with its admin key in scope `admin`.
    func vault(_ mock: MockProviderServer, _ provider: String, admin: String, mode: CLIMode = .direct, database: String? = nil) throws -> CLIHarness {
        let cli = CLIHarness(mode)
        if let database { cli.environment["KEYWARDEN_DATABASE_URL"] = database }
        try cli.initVault()
        try cli.ok(["provider", "set", provider, "--base-url", mock.baseURL(for: provider)])
        try cli.ok(["scope", "add", "admin"])
        let variable = provider.uppercased() + "_ADMIN_KEY"
        _ = try cli.addKey(provider, scope: "admin", value: admin, extra: ["--admin", "--env", variable])
        return cli
    }

    func keys(_ cli: CLIHarness, _ provider: String, scope: String = "prod") throws -> [[String: Any]] {
        try cli.json(try cli.ok(["key", "list", "--provider", provider, "--scope", scope, "--json"])) as! [[String: Any]]
    }

    func state(_ cli: CLIHarness, _ provider: String, _ id: String) throws -> String? {
        try keys(cli, provider).first { $0["id"] as? String == id }?["state"] as? String
    }

    func active(_ cli: CLIHarness, _ provider: String) throws -> [[String: Any]] {
        try keys(cli, provider).filter { $0["state"] as? String == "active" }
    }

    /// Every value the mock created is a secret too: none may leak.
    func remember(_ mock: MockProviderServer, _ provider: String, in cli: CLIHarness) {
        for key in mock.adminKeys(provider) where !cli.secrets.contains(key.value) { cli.secrets.append(key.value) }
    }

    func openAIPolicy(_ cli: CLIHarness, grace: String = "1s") throws {
        try cli.ok(["rotate", "policy", "openai", "--scope", "prod", "--grace", grace, "--via", "openai-admin",
                    "--admin-key", "kw://admin/OPENAI_ADMIN_KEY", "--project", "proj_test"])
    }

    @Test("OpenAI: a service account's key is created, tested, promoted; the old Keywarden-made key is deleted at the end of grace", arguments: CLIMode.allCases)
    func openAIEndToEnd(mode: CLIMode) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, "openai", admin: Self.openaiAdmin, mode: mode)
        let first = try cli.addKey("openai", scope: "prod", value: FakeKeys.openai("o"))
        try openAIPolicy(cli)
        let listed = try cli.ok(["rotate", "policy", "list"]).out
        #expect(listed.contains("openai-admin") && listed.contains("kw://admin/OPENAI_ADMIN_KEY"), "\(listed)")

        let rotated = try cli.ok(["rotate", "openai", "--scope", "prod"]).out
        #expect(rotated.contains("rotated"), "\(rotated)")
        remember(mock, "openai", in: cli)
        let created = mock.adminKeys("openai")
        #expect(created.count == 1 && created[0].status == "active" && created[0].name.hasPrefix("keywarden-r_"))
        let promoted = try active(cli, "openai")
        #expect(promoted.count == 1 && promoted[0]["provider_key_id"] as? String == "proj_test/\(created[0].id)")
        #expect(try state(cli, "openai", first) == "retiring")

        // Delivery: the new key, never the admin key.
        let file = cli.directory.file("prod.env")
        try cli.ok(["export", "--scope", "prod", "--output", file])
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains(created[0].value))
        #expect(!(try cli.ok(["export", "--scope", "admin"]).out.contains("OPENAI_ADMIN_KEY")))
        #expect(!(try cli.ok(["run", "--scope", "admin", "--", "/usr/bin/env"]).out.contains("OPENAI_ADMIN_KEY")))

        // A second rotation; at the end of grace the first Keywarden-made key is deleted at OpenAI.
        usleep(1_200_000)
        let due = try cli.ok(["rotate", "--due"]).out
        #expect(due.contains("revoked") && due.contains("revoke it at OpenAI by hand"), "the first key was not made by Keywarden: \(due)")
        try cli.ok(["rotate", "openai", "--scope", "prod"])
        remember(mock, "openai", in: cli)
        usleep(1_200_000)
        let second = try cli.ok(["rotate", "--due"]).out
        #expect(second.contains("deleted proj_test/\(created[0].id)"), "\(second)")
        #expect(mock.adminKeys("openai").first { $0.id == created[0].id }?.status == "deleted")
        #expect(mock.adminKeys("openai").filter { $0.status == "active" }.count == 1)
        let audit = try cli.ok(["audit", "--action", "rotate.upstream_delete"]).out
        #expect(audit.contains(created[0].id))
        #expect(try cli.ok(["audit", "verify"]).status == 0)
        // The admin key went only where a key goes: its header, on the admin paths.
        let carrying = mock.requests.filter { request in request.headers.contains { $0.value.contains(Self.openaiAdmin) } }
        #expect(!carrying.isEmpty && carrying.allSatisfy { $0.path.contains("/v1/organization/") && $0.header("authorization") == "Bearer \(Self.openaiAdmin)" })
        #expect(!mock.requests.contains { ($0.path + ($0.query ?? "") + $0.bodyText).contains(Self.openaiAdmin) })
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("OpenAI: a failure at each step leaves the old key active and no stray key at the provider", arguments: ["badadmin", "quota", "hangcreate", "lostcreate", "newkeyinvalid"])
    func openAIFailures(scenario: String) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, "openai", admin: Self.openaiAdmin)
        let old = try cli.addKey("openai", scope: "prod", value: FakeKeys.openai("o"))
        try openAIPolicy(cli)
        mock.setAdminScenario("openai", scenario)
        let result = try cli.run(["rotate", "openai", "--scope", "prod", "--timeout", "2s"])
        remember(mock, "openai", in: cli)
        #expect(result.status != 0, "\(result.out)")
        #expect(try active(cli, "openai").map { $0["id"] as? String } == [old], "the old key stays active after \(scenario)")
        #expect(mock.adminKeys("openai").allSatisfy { $0.status == "deleted" }, "no stray key after \(scenario)")
        switch scenario {
        case "badadmin": #expect(result.out.contains("401") && result.out.contains("kw://admin/OPENAI_ADMIN_KEY"), "\(result.out)")
        case "quota": #expect(result.out.contains("400") && result.out.contains("maximum number of service accounts"), "\(result.out)")
        case "hangcreate": #expect(result.out.contains("create a service account"), "\(result.out)")
        case "lostcreate":
            // Made at the provider though the answer was lost: found by its name and deleted, audited.
            #expect(mock.adminKeys("openai").count == 1, "created, then deleted")
            #expect(result.out.contains("502"), "\(result.out)")
            let audit = try cli.ok(["audit", "--action", "rotate.upstream_delete", "--json"]).out
            #expect(audit.contains("\"ok\""), "\(audit)")
        default:
            #expect(mock.adminKeys("openai").count == 1, "created, then deleted")
            #expect(result.out.contains("deleted proj_test/"), "\(result.out)")
            let audit = try cli.ok(["audit", "--action", "rotate.upstream_delete", "--json"]).out
            #expect(audit.contains("\"ok\""), "\(audit)")
        }
        #expect(!(try keys(cli, "openai").contains { $0["state"] as? String == "pending" }))
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("OpenAI: a delete that fails at the end of grace is audited and reported as needing a person, naming the provider-side id")
    func openAIDeleteFails() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, "openai", admin: Self.openaiAdmin)
        _ = try cli.addKey("openai", scope: "prod", value: FakeKeys.openai("o"))
        try openAIPolicy(cli)
        try cli.ok(["rotate", "openai", "--scope", "prod"])
        try cli.ok(["rotate", "openai", "--scope", "prod"])
        remember(mock, "openai", in: cli)
        let first = mock.adminKeys("openai")[0]
        mock.setAdminScenario("openai", "faildelete")
        usleep(1_200_000)
        let due = try cli.run(["rotate", "--due"])
        #expect(due.status != 0)
        #expect(due.out.contains("NEEDS A PERSON") && due.out.contains("proj_test/\(first.id)") && due.out.contains("500"), "\(due.out)")
        #expect(mock.adminKeys("openai").first { $0.id == first.id }?.status == "active")
        let audit = try cli.ok(["audit", "--action", "rotate.upstream_delete", "--json"]).out
        #expect(audit.contains("failed") && audit.contains(first.id), "\(audit)")
        #expect(try active(cli, "openai").count == 1)
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("OpenAI: killed after the created key is stored, the next run resumes it; killed before, nothing is left at the provider", arguments: ["create", "created", "set", "test"])
    func openAICrash(step: String) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, "openai", admin: Self.openaiAdmin)
        _ = try cli.addKey("openai", scope: "prod", value: FakeKeys.openai("o"))
        try openAIPolicy(cli)
        let crashed = try cli.run(["rotate", "openai", "--scope", "prod"], env: ["KEYWARDEN_CRASH_AT": step])
        #expect(crashed.signalled)
        let recovered = try cli.ok(["rotate", "--due"]).out
        remember(mock, "openai", in: cli)
        #expect(try active(cli, "openai").count == 1)
        #expect(!(try keys(cli, "openai").contains { $0["state"] as? String == "pending" }))
        if step == "create" {
            #expect(recovered.contains("rolled back") && mock.adminKeys("openai").isEmpty, "\(recovered)")
        } else if step == "created" {
            // Made at OpenAI, never stored: found by its name and deleted.
            #expect(recovered.contains("rolled back") && recovered.contains("deleted proj_test/"), "\(recovered)")
            #expect(mock.adminKeys("openai").count == 1 && mock.adminKeys("openai").allSatisfy { $0.status == "deleted" })
        } else {
            #expect(recovered.contains("resumed"), "\(recovered)")
            #expect(try active(cli, "openai")[0]["provider_key_id"] as? String != nil)
        }
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("OpenRouter: a key is created through the management API, tested, promoted, and deleted by hash at the end of grace; a created key that fails its test is deleted again")
    func openRouterEndToEnd() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, "openrouter", admin: Self.openrouterManagement)
        let old = try cli.addKey("openrouter", scope: "prod", value: "sk-or-v1-" + String(repeating: "0f", count: 32))
        try cli.ok(["rotate", "policy", "openrouter", "--scope", "prod", "--grace", "1s", "--via", "openrouter-management",
                    "--admin-key", "kw://admin/OPENROUTER_ADMIN_KEY"])
        // The created key fails its test: deleted at OpenRouter again, the old key stays.
        mock.setAdminScenario("openrouter", "newkeyinvalid")
        let failed = try cli.run(["rotate", "openrouter", "--scope", "prod"])
        remember(mock, "openrouter", in: cli)
        #expect(failed.status != 0 && failed.out.contains("deleted "), "\(failed.out)")
        #expect(mock.adminKeys("openrouter").allSatisfy { $0.status == "deleted" })
        #expect(try active(cli, "openrouter").map { $0["id"] as? String } == [old])
        // Quota on the number of keys: refused, nothing created.
        mock.setAdminScenario("openrouter", "quota")
        let quota = try cli.run(["rotate", "openrouter", "--scope", "prod"])
        #expect(quota.status != 0 && quota.out.contains("403") && quota.out.contains("Key limit"), "\(quota.out)")
        mock.setAdminScenario("openrouter", nil)
        try cli.ok(["rotate", "openrouter", "--scope", "prod"])
        try cli.ok(["rotate", "openrouter", "--scope", "prod"])
        remember(mock, "openrouter", in: cli)
        let live = mock.adminKeys("openrouter").filter { $0.status == "active" }
        #expect(live.count == 2)
        usleep(1_200_000)
        let due = try cli.ok(["rotate", "--due"]).out
        #expect(due.contains("deleted \(live[0].id)"), "\(due)")
        #expect(mock.adminKeys("openrouter").filter { $0.status == "active" }.map(\.id) == [live[1].id])
        #expect(mock.requests.contains { $0.method == "DELETE" && $0.path.hasSuffix("/api/v1/keys/\(live[0].id)") })
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("Anthropic: assisted; a person adds the standby, and at the end of grace the old key is set inactive through the Admin API, found by its hint")
    func anthropicDeactivates() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, "anthropic", admin: Self.anthropicAdmin)
        let oldValue = FakeKeys.anthropic("o"), newValue = FakeKeys.anthropic("n")
        mock.addAnthropicConsoleKey(id: "apikey_01Old", name: "prod old", value: oldValue)
        mock.addAnthropicConsoleKey(id: "apikey_01New", name: "prod new", value: newValue)
        mock.addAnthropicConsoleKey(id: "apikey_01Other", name: "someone else's", value: FakeKeys.anthropic("x"))
        let old = try cli.addKey("anthropic", scope: "prod", value: oldValue)
        // Without a standby it cannot rotate, and says why.
        try cli.ok(["rotate", "policy", "anthropic", "--scope", "prod", "--grace", "1s", "--via", "anthropic-admin",
                    "--admin-key", "kw://admin/ANTHROPIC_ADMIN_KEY"])
        let blocked = try cli.run(["rotate", "anthropic", "--scope", "prod"])
        #expect(blocked.status != 0 && blocked.err.contains("cannot create keys"), "\(blocked.err)")
        _ = try cli.addKey("anthropic", scope: "prod", value: newValue)
        try cli.ok(["rotate", "anthropic", "--scope", "prod"])
        #expect(try state(cli, "anthropic", old) == "retiring")
        usleep(1_200_000)
        let due = try cli.ok(["rotate", "--due"]).out
        #expect(due.contains("apikey_01Old") && due.contains("inactive"), "\(due)")
        let statuses = Dictionary(uniqueKeysWithValues: mock.adminKeys("anthropic").map { ($0.id, $0.status) })
        #expect(statuses == ["apikey_01Old": "inactive", "apikey_01New": "active", "apikey_01Other": "active"])
        #expect(mock.requests.contains { $0.method == "POST" && $0.path.hasSuffix("/v1/organizations/api_keys/apikey_01Old") && $0.bodyText.contains("inactive") })
        #expect(try cli.ok(["audit", "--action", "rotate.upstream_deactivate"]).out.contains("apikey_01Old"))
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("admin keys: never in export, run or inject unless asked; refused in a pool of ordinary keys; policies check their reference")
    func adminKeysStayHome() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, "openai", admin: Self.openaiAdmin)
        _ = try cli.addKey("openai", scope: "prod", value: FakeKeys.openai("o"))
        #expect(!(try cli.ok(["export", "--scope", "admin", "--format", "json"]).out.contains("OPENAI_ADMIN_KEY")))
        #expect(try cli.run(["export", "--scope", "admin", "--only", "OPENAI_ADMIN_KEY"]).status != 0)
        let template = cli.directory.file("t.tpl")
        try Data("k={{ kw://admin/OPENAI_ADMIN_KEY }}\n".utf8).write(to: URL(fileURLWithPath: template))
        #expect(try cli.run(["inject", "--in", template]).status != 0)
        let file = cli.directory.file("admin.env")
        try cli.ok(["export", "--scope", "admin", "--include-admin", "--output", file])
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains("OPENAI_ADMIN_KEY="))
        // An ordinary key does not join the admin pool, nor an admin key an ordinary one.
        #expect(try cli.run(["key", "add", "openai", "--scope", "admin"], stdin: FakeKeys.openai("p") + "\n").status != 0)
        #expect(try cli.run(["key", "add", "openai", "--scope", "prod", "--admin"], stdin: FakeKeys.openai("q") + "\n").status != 0)
        // Policies: a reference that is not an admin key, a missing project, a rotator of another provider.
        for (arguments, culprit) in [
            (["--via", "openai-admin", "--admin-key", "kw://prod/OPENAI_API_KEY", "--project", "proj_x"], "kw://prod/OPENAI_API_KEY"),
            (["--via", "openai-admin", "--admin-key", "kw://admin/OPENAI_ADMIN_KEY"], "--project"),
            (["--via", "anthropic-admin", "--admin-key", "kw://admin/OPENAI_ADMIN_KEY"], "anthropic"),
            (["--via", "openai-admin", "--admin-key", "admin/OPENAI_ADMIN_KEY", "--project", "proj_x"], "kw://SCOPE/NAME"),
            (["--via", "sideways"], "sideways"),
        ] {
            let refused = try cli.run(["rotate", "policy", "openai", "--scope", "prod"] + arguments)
            #expect(refused.status != 0 && refused.err.contains(culprit), "\(arguments): \(refused.err)")
        }
        #expect(try cli.ok(["rotate", "policy", "list"]).out.contains("No rotation policies"))
        let listed = try cli.ok(["key", "list", "--scope", "admin", "--json"]).out
        #expect(listed.contains("\"role\" : \"admin\"") || listed.contains("\"role\":\"admin\""), "\(listed)")
        cli.secrets.append(FakeKeys.openai("p"))
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }
    @Test("the agent's rotation scheduler runs an API policy when it is due: a key is created at OpenRouter and promoted, and the old Keywarden-made one deleted after grace")
    func schedulerRunsIt() async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, "openrouter", admin: Self.openrouterManagement)
        _ = try cli.addKey("openrouter", scope: "prod", value: "sk-or-v1-" + String(repeating: "0f", count: 32))
        try cli.ok(["rotate", "policy", "openrouter", "--scope", "prod", "--every", "2s", "--grace", "1s", "--via", "openrouter-management",
                    "--admin-key", "kw://admin/OPENROUTER_ADMIN_KEY"])
        try cli.startAgent(extra: ["--rotation-interval", "1s"])
        var deleted = false
        for _ in 0..<40 where !deleted {
            usleep(250_000)
            deleted = mock.adminKeys("openrouter").contains { $0.status == "deleted" }
        }
        remember(mock, "openrouter", in: cli)
        #expect(deleted, "the scheduler created, promoted and, after grace, deleted a key: \(mock.adminKeys("openrouter").map { ($0.id, $0.status) })")
        let audit = try cli.ok(["audit", "--action", "rotate.upstream_delete"]).out
        #expect(audit.contains("its grace period ended"), "\(audit)")
        #expect(try active(cli, "openrouter").count == 1)
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("on PostgreSQL: an OpenRouter rotation through the API, its provider-side id kept, the old key deleted at the end of grace",
          .enabled(if: PostgresTestDatabase.isAvailable))
    func onPostgres() async throws {
        let db = try PostgresTestDatabase()
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, "openrouter", admin: Self.openrouterManagement, database: db.url)
        #expect(!FileManager.default.fileExists(atPath: cli.databasePath), "the vault is in PostgreSQL")
        _ = try cli.addKey("openrouter", scope: "prod", value: "sk-or-v1-" + String(repeating: "0f", count: 32))
        try cli.ok(["rotate", "policy", "openrouter", "--scope", "prod", "--grace", "1s", "--via", "openrouter-management",
                    "--admin-key", "kw://admin/OPENROUTER_ADMIN_KEY"])
        try cli.ok(["rotate", "openrouter", "--scope", "prod"])
        try cli.ok(["rotate", "openrouter", "--scope", "prod"])
        remember(mock, "openrouter", in: cli)
        let first = mock.adminKeys("openrouter")[0]
        #expect(try active(cli, "openrouter")[0]["provider_key_id"] as? String == mock.adminKeys("openrouter")[1].id)
        #expect(!(try cli.ok(["export", "--scope", "admin"]).out.contains("OPENROUTER_ADMIN_KEY")))
        usleep(1_200_000)
        #expect(try cli.ok(["rotate", "--due"]).out.contains("deleted \(first.id)"))
        #expect(mock.adminKeys("openrouter").map(\.status) == ["deleted", "active"])
        #expect(try cli.ok(["audit", "verify"]).status == 0)
        try cli.expectNoSecretLeaked()
        await mock.shutdown()
    }

    @Test("the admin role, the provider-side id and the rotator are covered by row MACs: changed with SQL, they are refused", arguments: [
        "UPDATE keys SET role = NULL WHERE role = 'admin'",
        "UPDATE keys SET provider_key_id = 'proj_test/svc_acct_other' WHERE provider_key_id IS NOT NULL",
        "UPDATE rotation_policies SET admin_key = 'kw://admin/OTHER'",
        "UPDATE rotation_policies SET via = NULL",
    ])
    func rowMACsCoverIt(sql: String) async throws {
        let mock = try await MockProviderServer.start()
        let cli = try vault(mock, "openai", admin: Self.openaiAdmin)
        _ = try cli.addKey("openai", scope: "prod", value: FakeKeys.openai("o"))
        try openAIPolicy(cli)
        try cli.ok(["rotate", "openai", "--scope", "prod"])
        remember(mock, "openai", in: cli)
        try cli.sqlite(sql)
        let listed = try cli.run(sql.contains("rotation_policies") ? ["rotate", "policy", "list"] : ["key", "list", "--json"])
        #expect(listed.status != 0 && listed.err.contains("changed outside Keywarden"), "\(sql): \(listed.err)")
        await mock.shutdown()
    }
}

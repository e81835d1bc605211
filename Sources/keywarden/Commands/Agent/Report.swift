import ArgumentParser
import Foundation
import KeywardenCore
import KeywardenCrypto

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say that a key failed (or worked) in use: recorded on the key and in the audit trail; may fail over.",
        discussion: """
        --env NAME reports the key that is the value of $NAME in this environment, as a deployment
        holds it (the value never leaves this process: see the README). With an active failover policy
        (`keywarden rotate policy … --failover on`), a reported 401/402/403 on the active key promotes
        the pool's next healthy standby key. Uses the agent when one answers.

        Examples:
          keywarden report --env ANTHROPIC_API_KEY --status 401 \\
            --detail "invalid x-api-key"
          keywarden report --key k_7hq2m4x9ab --status 429
        """
    )

    @OptionGroup var vault: VaultOptions
    @Option(name: .customLong("key"), help: "The key id.") var keyID: String?
    @Option(help: ArgumentHelp("The variable whose value is the key.", valueName: "NAME")) var env: String?
    @Option(help: "The HTTP status the provider answered.") var status: Int
    @Option(help: "What the provider said (the key, if echoed, is removed).") var detail: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if (keyID == nil) == (env == nil) { throw ValidationError("give exactly one of --key ID or --env NAME") }
    }

    func run() throws {
        let environment = Session.environment
        var value: SecureBytes?
        if let env {
            guard let text = environment[env], !text.isEmpty else {
                throw KeywardenError(.invalidInput, "$\(env) is not set in this environment, so there is no key to report")
            }
            value = SecureBytes(copying: Array(text.utf8))
        }
        let results: [ReportResult]
        // --keyfile means "use this vault", not whatever agent is up.
        if vault.keyfile == nil, let agent = AgentClient.available(environment: environment) {
            let ids = try keyID.map { [$0] } ?? AgentKeyMatch.keyIDs(holding: value!, agent: agent)
            var collected: [ReportResult] = []
            for id in ids {
                var body: [String: Any] = ["status": status, "key_id": id]
                if let detail { body["detail"] = detail }
                let answer = try agent.check(agent.request("POST", "/v1/reports", body: Array(try JSONSerialization.data(withJSONObject: body))))
                collected += (try? JSONDecoder().decode([ReportResult].self, from: Data(answer.body))) ?? []
            }
            results = collected
        } else {
            let opened = try Session.open(vault, command: "report")
            results = try opened.report(KeyReport(keyID: keyID, value: value, status: status, detail: detail),
                                        by: opened.context.actor,
                                        failover: { provider, scope in ((try? opened.rotationPolicy(provider: provider, scope: scope)) ?? nil)?.failover ?? false })
        }
        if json { return try Output.json(results) }
        for result in results { Output.line("\(result.provider)/\(result.scope): \(result.message)") }
    }
}

/// Finds, through the agent, the stored keys whose value is `value` without
/// sending the agent anything derived from it: the agent's fingerprint is
/// keyed by the master key, which the CLI does not hold, and an unkeyed hash
/// would hand a low-entropy value to whoever answers. The keys whose hint
/// (prefix and last characters) fits are fetched by id, as `key show
/// --reveal` does, and compared here in constant time; the report then names
/// the key by id.
enum AgentKeyMatch {
    struct Listed: Decodable {
        var id: String
        var hint: String
    }

    static func keyIDs(holding value: SecureBytes, agent: AgentClient) throws -> [String] {
        let listing = try agent.check(agent.request("GET", "/v1/keys"))
        let keys = try JSONDecoder().decode([Listed].self, from: Data(listing.body))
        var ids: [String] = []
        var seen = Set<String>()
        for key in keys where !seen.contains(key.id) && fits(value, hint: key.hint) {
            seen.insert(key.id)
            var answer = try agent.check(agent.request("GET", "/v1/values/\(AgentClient.query(key.id))", purpose: "report --env (finding the key)"))
            defer { wipe(&answer.body) }
            guard let object = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any], let stored = object["value"] as? String else { continue }
            var storedBytes = Array(stored.utf8)
            defer { wipe(&storedBytes) }
            if SecureBytes(copying: storedBytes).constantTimeEquals(value) { ids.append(key.id) }
        }
        guard !ids.isEmpty else {
            throw KeywardenError(.notFound, "no stored key has that value; it may have been removed or never added")
        }
        return ids
    }

    /// Whether `value` could be the key with `hint` (`sk-ant-…9QxA`: starts
    /// with the part before `…`, ends with the part after). A hint without
    /// `…` tells nothing, so it fits.
    static func fits(_ value: SecureBytes, hint: String) -> Bool {
        guard let ellipsis = hint.range(of: "…") else { return true }
        let prefix = Array(hint[..<ellipsis.lowerBound].utf8), tail = Array(hint[ellipsis.upperBound...].utf8)
        return value.withUnsafeBytes { bytes in
            bytes.count >= prefix.count + tail.count && bytes.starts(with: prefix) && bytes.suffix(tail.count).elementsEqual(tail)
        }
    }
}

import ArgumentParser
import Foundation
import KeywardenCore
import KeywardenCrypto

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say that a key failed (or worked) in use: recorded on the key and in the audit trail; may fail over.",
        discussion: """
        --env NAME reports the key that is the value of $NAME in this environment, as a deployment
        holds it (the value is only hashed to find the key). With an active failover policy
        (`keywarden rotate policy … --failover on`), a reported 401/402/403 on the active key promotes
        the pool's next healthy standby key. Uses the agent when one answers.

        Examples:
          keywarden report --env ANTHROPIC_API_KEY --status 401 --detail "invalid x-api-key"
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
        if let agent = AgentClient.available(environment: environment) {
            var body: [String: Any] = ["status": status]
            if let keyID { body["key_id"] = keyID }
            if let value { body["value"] = value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
            if let detail { body["detail"] = detail }
            let answer = try agent.check(agent.request("POST", "/v1/reports", body: Array(try JSONSerialization.data(withJSONObject: body))))
            results = (try? JSONDecoder().decode([ReportResult].self, from: Data(answer.body))) ?? []
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

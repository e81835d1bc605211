import Foundation
import KeywardenCore
import KeywardenCrypto

/// Where delivery commands get values: a running agent (no unlock, no
/// prompt) or the vault itself. Both give the same variables in the same
/// order, so every command's output is the same either way.
protocol ValueSource {
    /// The variable names of a scope (no values).
    func names(scope: String) throws -> Set<String>
    /// The variables of a scope (or just `only`), sorted by name, as exact bytes.
    func environment(scope: String, only: [String]?, purpose: String) throws -> [(name: String, value: SecureBytes)]
}

enum ValueSources {
    /// The agent when one answers unlocked, else the vault (unlocking it).
    static func open(_ options: VaultOptions, command: String) throws -> any ValueSource {
        if options.keyfile == nil, let agent = AgentClient.available(environment: Session.environment) {
            return AgentSource(client: agent)
        }
        return VaultSource(vault: try Session.open(options, command: command), action: command)
    }
}

struct VaultSource: ValueSource {
    let vault: Vault
    let action: String

    func names(scope: String) throws -> Set<String> {
        Set(try vault.resolveEnvironment(scope: scope, decrypt: false).map(\.name))
    }

    func environment(scope: String, only: [String]?, purpose: String) throws -> [(name: String, value: SecureBytes)] {
        let variables = try vault.resolveEnvironment(scope: scope, only: only)
        try vault.recordDelivery(variables, action: action, scope: scope, destination: purpose)
        return variables.map { ($0.name, $0.value!) }
    }
}

struct AgentSource: ValueSource {
    let client: AgentClient

    func names(scope: String) throws -> Set<String> {
        let answer = try client.check(client.request("GET", "/v1/names?scope=\(AgentClient.query(scope))"))
        return Set(try JSONDecoder().decode([String].self, from: Data(answer.body)))
    }

    func environment(scope: String, only: [String]?, purpose: String) throws -> [(name: String, value: SecureBytes)] {
        var target = "/v1/env?scope=\(AgentClient.query(scope))&format=json&encoding=base64"
        if let only { target += "&only=\(AgentClient.query(only.joined(separator: ",")))" }
        var answer = try client.check(client.request("GET", target, purpose: purpose))
        defer { wipe(&answer.body) }
        let object = try JSONDecoder().decode([String: String].self, from: Data(answer.body))
        return object.keys.sorted().map { name in (name, SecureBytes(copying: Data(base64Encoded: object[name]!) ?? Data())) }
    }
}

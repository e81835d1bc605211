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
        let pairs = try Base64Object.decode(answer.body)
        try Self.checkNames(pairs.map(\.name), only: only)
        return pairs.sorted { $0.name < $1.name }
    }

    /// Accepts only what was asked for: with `only`, exactly those names;
    /// without, any name except one that changes how programs load (`PATH`,
    /// `LD_PRELOAD`, …), which must be asked for by name. Whatever listens at
    /// the socket decides these answers, so `run` must not let it choose the
    /// child's loader.
    static func checkNames(_ names: [String], only: [String]?) throws(KeywardenError) {
        if Set(names).count != names.count {
            throw KeywardenError(.failed, "the agent sent a variable twice; nothing was used")
        }
        if let only {
            let wanted = Set(only)
            if let extra = names.first(where: { !wanted.contains($0) }) {
                throw KeywardenError(.failed, "the agent sent \(extra), which was not asked for; nothing was used")
            }
            if let missing = only.first(where: { !names.contains($0) }) {
                throw KeywardenError(.failed, "the agent did not send \(missing); nothing was used")
            }
            return
        }
        if let loader = names.first(where: LoaderVariables.contains) {
            throw KeywardenError(.invalidInput, "the agent sent \(loader), which changes how programs load; it is used only when asked for by name (--only \(loader),…)")
        }
    }
}

/// The agent's `format=json&encoding=base64` answer, `{"NAME":"base64",…}`,
/// decoded straight into guarded memory: the values never pass through a
/// `String` or an unwiped array. Names are variable names and base64 has no
/// escapes, so anything else is a malformed answer.
enum Base64Object {
    static func decode(_ bytes: [UInt8]) throws(KeywardenError) -> [(name: String, value: SecureBytes)] {
        let malformed = KeywardenError(.failed, "the agent sent a malformed answer")
        var index = 0
        func skipSpace() { while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }
        func expect(_ byte: UInt8) throws(KeywardenError) {
            skipSpace()
            guard index < bytes.count, bytes[index] == byte else { throw malformed }
            index += 1
        }
        /// The bytes of a string without escapes; the index ends after its closing quote.
        func string() throws(KeywardenError) -> Range<Int> {
            try expect(UInt8(ascii: "\""))
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                guard bytes[index] != UInt8(ascii: "\\") else { throw malformed }
                index += 1
            }
            guard index < bytes.count else { throw malformed }
            index += 1
            return start..<(index - 1)
        }
        var result: [(name: String, value: SecureBytes)] = []
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                let nameRange = try string()
                let name = String(decoding: bytes[nameRange], as: UTF8.self)
                guard Names.isEnvironmentVariable(name) else { throw malformed }
                try expect(UInt8(ascii: ":"))
                let valueRange = try string()
                guard let value = base64(bytes[valueRange]) else { throw malformed }
                result.append((name, value))
                skipSpace()
                guard index < bytes.count else { throw malformed }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; break }
                throw malformed
            }
        }
        skipSpace()
        guard index == bytes.count else { throw malformed }
        return result
    }

    /// Standard base64 with padding, as the agent writes it (no escaped `/`).
    static func base64(_ text: ArraySlice<UInt8>) -> SecureBytes? {
        guard text.count % 4 == 0 else { return nil }
        let padding = text.suffix(2).filter { $0 == UInt8(ascii: "=") }.count
        let length = text.count / 4 * 3 - padding
        var valid = true
        let decoded = SecureBytes(count: length) { out in
            var quad: UInt32 = 0, filled = 0, written = 0
            for (position, byte) in text.enumerated() {
                let sextet: UInt32
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): sextet = UInt32(byte - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): sextet = UInt32(byte - UInt8(ascii: "a")) + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): sextet = UInt32(byte - UInt8(ascii: "0")) + 52
                case UInt8(ascii: "+"): sextet = 62
                case UInt8(ascii: "/"): sextet = 63
                case UInt8(ascii: "=") where position >= text.count - padding: sextet = 0
                default: valid = false; return
                }
                quad = quad << 6 | sextet
                filled += 1
                if filled == 4 {
                    for shift in [16, 8, 0] where written < length {
                        out[written] = UInt8(truncatingIfNeeded: quad >> UInt32(shift))
                        written += 1
                    }
                    quad = 0
                    filled = 0
                }
            }
            quad = 0
        }
        return valid ? decoded : nil
    }
}

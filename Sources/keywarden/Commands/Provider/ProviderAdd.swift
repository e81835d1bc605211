import ArgumentParser
import KeywardenCore

struct ProviderAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Define a custom provider (an internal gateway, a self-hosted model server, any HTTP API).",
        discussion: """
        Examples:
          keywarden provider add my-gateway --base-url https://llm.internal \\
            --env GATEWAY_API_KEY
          keywarden provider add acme --base-url https://api.acme.dev \\
            --env ACME_TOKEN --auth header:X-Api-Key --key-prefix acme_ \\
            --key-pattern 'acme_[A-Za-z0-9]{32}' --probe-path /v1/me
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Provider name (lower-case letters, digits, '-').") var name: String
    @Option(help: "Base URL, e.g. https://api.example.com/v1.") var baseURL: String
    @Option(help: "Default environment variable for its keys.") var env: String
    @Option(help: "How the key is sent: bearer, header:NAME or query:NAME.") var auth: String = "bearer"
    @Option(help: ArgumentHelp("An extra header for every request, NAME:VALUE (repeatable).", valueName: "header")) var header: [String] = []
    @Option(help: "Regular expression a key must match.") var keyPattern: String?
    @Option(help: "Literal prefix of its keys (repeatable), used for hints and import.") var keyPrefix: [String] = []
    @Option(help: "Path of the request that checks a key, e.g. /v1/models.") var probePath: String?
    @Option(help: "Method of that request (GET or POST).") var probeMethod: String = "GET"
    @Option(help: "Human name (default: the name).") var displayName: String?
    @Flag(help: "Accept a plain http:// --base-url to a host that is not loopback (keys travel unencrypted).") var allowInsecureHttp = false

    func run() throws {
        let placement = try Self.parsePlacement(auth)
        var headers: [String: String] = [:]
        for item in header {
            guard let colon = item.firstIndex(of: ":"), colon != item.startIndex else {
                throw KeywardenError(.invalidInput, "invalid --header '\(item)': expected NAME:VALUE")
            }
            headers[String(item[..<colon])] = String(item[item.index(after: colon)...]).trimmingPrefix(" ").description
        }
        if let probePath, !probePath.hasPrefix("/") {
            throw KeywardenError(.invalidInput, "invalid --probe-path '\(probePath)': it must start with '/'")
        }
        guard ["GET", "POST"].contains(probeMethod.uppercased()) else {
            throw KeywardenError(.invalidInput, "invalid --probe-method '\(probeMethod)': use GET or POST")
        }
        var format: KeyFormat?
        if keyPattern != nil || !keyPrefix.isEmpty {
            let pattern = keyPattern ?? (keyPrefix.map { NSRegularExpressionEscape.escape($0) }.joined(separator: "|").wrappedAsGroup + ".+")
            format = KeyFormat(pattern: pattern, prefixes: keyPrefix, description: keyPattern.map { "matching \($0)" } ?? "starting with \(keyPrefix.joined(separator: " or "))")
        }
        var definition = ProviderDefinition(
            name: name, displayName: displayName ?? name, baseURL: baseURL, auth: placement, headers: headers, env: env,
            keyFormat: format, probe: probePath.map { Probe(method: probeMethod.uppercased(), path: $0) })
        definition.allowInsecureHTTP = allowInsecureHttp
        let opened = try Session.open(vault, command: "provider add")
        try opened.addProvider(definition)
        Output.line("Added provider \(name) (\(baseURL), key as \(placement.summary), env \(env)).")
    }

    static func parsePlacement(_ text: String) throws(KeywardenError) -> KeyPlacement {
        if text == "bearer" { return .bearer }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        if parts.count == 2, !parts[1].isEmpty, parts[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            switch parts[0] {
            case "header": return .header(parts[1])
            case "query": return .query(parts[1])
            default: break
            }
        }
        throw KeywardenError(.invalidInput, "invalid --auth '\(text)': use bearer, header:NAME or query:NAME")
    }
}

/// Escaping of literal text inside a regular expression.
enum NSRegularExpressionEscape {
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            if "\\^$.|?*+()[]{}/".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}

extension String {
    var wrappedAsGroup: String { "(?:" + self + ")" }
}

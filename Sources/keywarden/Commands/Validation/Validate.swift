#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import KeywardenCore
import NIOCore

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check keys against their providers' endpoints, without spending tokens, and say why one fails.",
        discussion: """
        Each key gets one cheap authenticated request (e.g. GET /v1/models), classified by status and
        body into: valid, invalid, forbidden, no_credit, rate_limited, provider_error, dns_error,
        connect_error, tls_error, timeout, proxy_error, unexpected. Transient outcomes are retried with
        capped exponential backoff and jitter, honouring retry-after-ms / retry-after, within --timeout.
        HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured. Each result is stored on the key (`key list`)
        and in the audit trail (`audit --failed-auth`).

        After the table comes a summary that keeps two things apart: keys the provider answered about and that do not work (invalid, forbidden, no_credit), and keys that could not be checked at all (dns_error, connect_error, tls_error, timeout, proxy_error, provider_error, rate_limited, unexpected), e.g. "could not check 12 of 12 key(s): DNS fails for api.anthropic.com". Each piece of advice is given once per outcome and host.

        Exit codes: 0 every key is valid; 5 at least one key is not valid (this wins when both happen); 6 no key was found bad, but at least one could not be checked.

        Examples:
          keywarden validate
          keywarden validate anthropic --scope prod
          keywarden validate --key k_7hq2m4x9ab --json
          keywarden validate --all --concurrency 32 --timeout 10s
        """
    )

    @OptionGroup var vault: VaultOptions
    @Argument(help: "Only this provider's keys.") var provider: String?
    @Option(help: "Only keys of this scope.") var scope: String?
    @Option(name: .customLong("key"), help: "Only this key id.") var keyID: String?
    @Flag(help: "Also check retiring, revoked and failed keys (default: active, standby, pending).") var all = false
    @Option(help: "Checks in flight at once.") var concurrency: Int = 8
    @Option(help: "Checks in flight at once per provider (default: --concurrency).") var perProvider: Int?
    @Option(help: ArgumentHelp("Time limit per key, retries included (e.g. 10s, 1m).", valueName: "duration")) var timeout: String = "15s"
    @Option(help: ArgumentHelp("Extra trusted CA certificates (PEM), e.g. a TLS-inspecting proxy's.", valueName: "file")) var caFile: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let limit = try ProbeOptions.duration(timeout)
        guard (1...1024).contains(concurrency) else { throw KeywardenError(.invalidInput, "invalid --concurrency \(concurrency): use 1 to 1024") }
        if let perProvider, !(1...1024).contains(perProvider) { throw KeywardenError(.invalidInput, "invalid --per-provider \(perProvider): use 1 to 1024") }
        let results: [KeyCheck]
        let failovers: [ReportResult]
        let environment = Session.environment
        let ownNetworkSettings = caFile != nil || ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "KEYWARDEN_CA_FILE"]
            .contains { environment[$0] != nil }
        if vault.keyfile == nil, !ownNetworkSettings, let agent = AgentClient.available(environment: environment) {
            // The agent runs the checks with the vault it holds: no unlock here.
            var body: [String: Any] = ["all": all, "concurrency": concurrency, "timeout_seconds": Int(limit.nanoseconds / 1_000_000_000)]
            if let provider { body["provider"] = provider }
            if let scope { body["scope"] = scope }
            if let keyID { body["key_id"] = keyID }
            if let perProvider { body["per_provider"] = perProvider }
            let answer = try agent.check(agent.request("POST", "/v1/validate", body: Array(try JSONSerialization.data(withJSONObject: body))))
            struct Answer: Decodable { var checks: [KeyCheck]; var failovers: [ReportResult] }
            let decoded = try JSONDecoder().decode(Answer.self, from: Data(answer.body))
            (results, failovers) = (decoded.checks, decoded.failovers)
        } else {
            let opened = try Session.open(vault, command: "validate")
            let keys = try opened.keysToCheck(ValidationSelection(provider: provider, scope: scope, keyID: keyID, all: all))
            let validator = Validator(client: ProbeOptions.client(caFile: caFile), timeout: limit, concurrency: concurrency, perProvider: perProvider)
            let showProgress = !json && isatty(STDERR_FILENO) == 1 && keys.count >= 10
            results = await validator.check(keys) { done, total in
                if showProgress { Output.progress("checking keys: \(done)/\(total)") }
            }
            if showProgress { Output.progress("") }
            try opened.recordChecks(results, by: "validate")
            failovers = try opened.failover(after: results)
        }
        if results.isEmpty {
            if json { try Output.json([KeyCheck]()) } else { Output.line("No keys to check.") }
            return
        }
        if json {
            try Output.json(results)
        } else {
            ValidationTable.print(results)
            for failover in failovers { Output.line("\(failover.provider)/\(failover.scope): \(failover.message)") }
        }
        let summary = ValidationSummary(results)
        if summary.exitCode != ExitCode.success {
            throw CommandFailure(code: summary.exitCode, message: json ? "" : summary.message ?? "")
        }
    }
}

enum ValidationTable {
    static func print(_ results: [KeyCheck]) {
        Output.table(["PROVIDER", "SCOPE", "KEY", "HINT", "OUTCOME", "LATENCY", "REASON"], results.map { r in
            [r.provider, r.scope, r.id, r.hint, r.outcome.rawValue, "\(Int(r.latencyMs.rounded())) ms", r.reason]
        })
        // Once per outcome and host: twelve keys behind one broken DNS get one line.
        let advice = ValidationSummary(results).adviceLines
        if !advice.isEmpty {
            Output.line()
            for line in advice { Output.line(line) }
        }
    }
}

/// Options shared by validate and doctor.
enum ProbeOptions {
    static func duration(_ text: String) throws(KeywardenError) -> TimeAmount {
        guard let spec = DurationSpec(parsing: text), spec.seconds > 0, spec.seconds <= 3600 else {
            throw KeywardenError(.invalidInput, "invalid --timeout '\(text)': use a duration like 5s, 30s or 2m (at most 1h)")
        }
        return .seconds(spec.seconds)
    }

    static func client(caFile: String?) -> ProbeClient {
        let environment = Session.environment
        return ProbeClient(proxies: ProxySettings(environment: environment), caFile: caFile ?? environment["KEYWARDEN_CA_FILE"])
    }
}

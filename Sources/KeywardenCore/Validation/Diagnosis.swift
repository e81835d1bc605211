import Foundation
import KeywardenCrypto
import NIOCore

/// `doctor`'s findings for one key: each stage with its timing, the
/// classified outcome, and a verdict naming the first failing stage.
/// Codable whole (the API's answer, check included); `doctor --json` prints
/// ``printed``.
public struct Diagnosis: Codable, Sendable {
    public var provider: String
    /// The key's id and hint (never its value).
    public var key: String
    public var url: String
    public var stages: [StageReport]
    public var check: KeyCheck
    /// The first failing stage and what it means.
    public var verdict: String
    /// What to do about it.
    public var advice: String?

    /// What `doctor --json` prints: the stages, the outcome and the verdict.
    /// The full check is stored on the key (`key show`) and in the audit trail.
    public struct Printed: Encodable, Sendable {
        public var provider: String
        public var key: String
        public var url: String
        public var stages: [StageReport]
        public var outcome: ValidationOutcome
        public var verdict: String
        public var advice: String?
    }

    /// The form `doctor --json` prints.
    public var printed: Printed {
        Printed(provider: provider, key: key, url: url, stages: stages, outcome: check.outcome, verdict: verdict, advice: advice)
    }

    /// Runs every stage for one key and explains the first that fails.
    public static func run(_ item: KeyToCheck, client: ProbeClient, timeout: TimeAmount, environment: [String: String]) async -> Diagnosis {
        let collector = StageCollector()
        let request: ProbeRequest
        do {
            request = try ProbeRequest.make(provider: item.provider, key: item.value)
        } catch {
            let check = KeyCheck(id: item.key.id, provider: item.provider.name, scope: item.key.scope, label: item.key.label, hint: item.key.hint,
                                 fingerprint: item.key.fingerprint, outcome: .unexpected, status: nil, stage: nil, latencyMs: 0, attempts: 0,
                                 reason: error.message, fix: nil, checkedAt: .now())
            return Diagnosis(provider: item.provider.name, key: "\(item.key.id) \(item.key.hint)", url: item.provider.baseURL, stages: [], check: check,
                             verdict: error.message, advice: nil)
        }
        var proxyLine = "none in effect (direct connection)"
        if let proxy = client.proxies.proxy(forHost: request.host, scheme: request.scheme) {
            proxyLine = "\(proxy)"
        } else if client.proxies.https != nil || client.proxies.http != nil {
            proxyLine = "set, but NO_PROXY exempts \(request.host)"
        }
        if !client.proxies.problems.isEmpty { proxyLine += "; " + client.proxies.problems.joined(separator: "; ") }
        collector.add(StageReport(stage: .proxy, ok: client.proxies.problems.isEmpty, milliseconds: 0, detail: proxyLine))

        let started = NIODeadline.now()
        let answer = await client.send(request, timeout: timeout) { collector.add($0) }
        var stages = collector.reports
        var outcome: ValidationOutcome, reason: String, fix: String?, status: Int?, stage: ProbeStage?
        var certificate: CertificateVerdict?
        switch answer {
        case .success(let response):
            let classification = Validator.classify(response, provider: item.provider)
            (outcome, reason, fix, status, stage) = (classification.outcome, classification.reason, classification.fix, response.status, nil)
        case .failure(let failure):
            (outcome, reason, fix, status, stage) = (failure.outcome, failure.detail, nil, nil, failure.stage)
            if failure.stage == .tls, failure.outcome == .tlsError {
                // Show the certificate that failed verification. This is a
                // separate handshake that sends nothing at all after it, so
                // the server that failed verification never gets the key.
                let inspected = await client.inspectCertificate(host: request.host, port: request.port, timeout: timeout)
                if case .success(let details) = inspected {
                    stages.append(StageReport(stage: .tls, ok: false, milliseconds: 0,
                                              detail: "the server presented: " + details.summary + " (seen in a second handshake that sent nothing)"))
                    // Why it failed, named: stored on the key and in the audit trail as the check's reason.
                    let explained = CertificateVerdict.explain(details, host: request.host)
                    certificate = explained
                    reason = "TLS with \(request.host) failed: \(explained.reason)"
                    fix = explained.advice
                }
            }
        }
        let elapsed = Double((NIODeadline.now() - started).nanoseconds) / 1e6
        let check = KeyCheck(id: item.key.id, provider: item.provider.name, scope: item.key.scope, label: item.key.label, hint: item.key.hint,
                             fingerprint: item.key.fingerprint, outcome: outcome, status: status, stage: stage, latencyMs: elapsed, attempts: 1,
                             reason: reason, fix: fix, checkedAt: .now(), host: request.host)
        var (verdict, advice) = Self.verdict(check, request: request, proxies: client.proxies, provider: item.provider)
        if let certificate, outcome == .tlsError {
            verdict = "FAILED at TLS: \(certificate.reason)."
            advice = certificate.advice
        }
        return Diagnosis(provider: item.provider.name, key: "\(item.key.id) \(item.key.hint)", url: request.displayURL, stages: stages,
                         check: check, verdict: verdict, advice: advice)
    }

    /// The verdict line for an outcome that met the network, from the check
    /// alone: network incidents of checks made without doctor's stages
    /// (validate, rotation tests, recovery probes) carry the same line.
    static func networkVerdict(_ check: KeyCheck) -> String? {
        switch check.outcome {
        case .proxyError: "FAILED at the proxy: \(check.reason)"
        case .dnsError: "FAILED at DNS: \(check.reason)"
        case .connectError where check.stage == .connect: "FAILED at TCP connect: \(check.reason)"
        case .connectError: "FAILED after connecting: \(check.reason)"
        case .tlsError: "FAILED at TLS: \(check.reason)"
        case .timeout: "FAILED: \(check.stage.map { "no progress at the \($0.rawValue) stage" } ?? "timed out"): \(check.reason)"
        default: nil
        }
    }

    static func verdict(_ check: KeyCheck, request: ProbeRequest, proxies: ProxySettings, provider: ProviderDefinition) -> (String, String?) {
        let host = request.host
        switch check.outcome {
        case .valid: return ("OK: the key works (HTTP \(check.status ?? 200)).", nil)
        case .proxyError: return (networkVerdict(check)!, "check HTTPS_PROXY / HTTP_PROXY and NO_PROXY, that the proxy is running and allows CONNECT to \(host):\(request.port), and its credentials")
        case .dnsError: return (networkVerdict(check)!, "check the host name in the base URL (`keywarden provider show \(provider.name)`), your DNS server (/etc/resolv.conf), VPN or split-horizon DNS")
        case .connectError where check.stage == .connect: return (networkVerdict(check)!, "nothing accepts connections at \(host):\(request.port): check the port and base URL, a firewall or security group, or the provider's status page")
        case .connectError: return (networkVerdict(check)!, "something on the path drops connections (a firewall, a proxy, the provider under load); retry, then check the provider's status page")
        case .tlsError: return (networkVerdict(check)!, "check the system clock (now \(Timestamp.now().iso8601)), the CA bundle (a TLS-inspecting proxy needs its CA: --ca-file or KEYWARDEN_CA_FILE), and that the base URL's host matches its certificate")
        case .timeout: return (networkVerdict(check)!, "the host or network is slow or filtered; check the proxy and firewall, or raise --timeout")
        case .invalid: return ("FAILED at the probe: the provider rejected the key. \(check.reason)", check.fix ?? "rotate the key: create a new one\(provider.consoleURL.map { " at \($0)" } ?? "") and `keywarden key add \(provider.name)`")
        case .forbidden: return ("FAILED at the probe: the key is valid but not allowed. \(check.reason)", check.fix ?? "check the key's permissions, project, organisation and region")
        case .noCredit: return ("FAILED at the probe: no credit or quota. \(check.reason)", check.fix ?? "top up the account or raise its limit")
        case .rateLimited: return ("FAILED at the probe: rate limited. \(check.reason)", check.fix ?? "wait and retry, or lower the request rate")
        case .providerError: return ("FAILED at the probe: the provider is failing. \(check.reason)", check.fix ?? "retry later; check the provider's status page")
        case .unexpected: return ("FAILED at the probe: \(check.reason)", check.fix ?? "check the provider's base URL and probe (`keywarden provider show \(provider.name)`)")
        }
    }

}

/// Collects stage reports from the probe's callback.
final class StageCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [StageReport] = []
    func add(_ report: StageReport) { lock.lock(); items.append(report); lock.unlock() }
    var reports: [StageReport] { lock.lock(); defer { lock.unlock() }; return items }
}

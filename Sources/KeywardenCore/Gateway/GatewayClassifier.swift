import Foundation

/// Reads a provider's answer to forwarded traffic with the rules `validate`
/// uses, so that the gateway and a check agree on what a key's answer means.
public enum GatewayClassifier {
    /// The outcome of an answer with `status`, `headers` and (for non-2xx) its
    /// `body`, and the reason in words (never a header value). A 2xx is `ok`
    /// without reading the body (an SSE stream is not JSON).
    public static func classify(status: Int, headers: [(String, String)], body: [UInt8], provider: ProviderDefinition) -> (outcome: GatewayOutcome, reason: String) {
        if (200...299).contains(status) { return (.ok, "HTTP \(status)") }
        if (300...399).contains(status) {
            // `validate`'s reason quotes the location, which may carry a query; name only its host.
            let location = GatewayRetry.header("location", in: headers).flatMap { URLComponents(string: $0)?.host }
            return (.unexpected, "HTTP \(status) redirect\(location.map { " to \($0)" } ?? ""); not followed, the key was not sent there")
        }
        let classification = Validator.classify(ProbeResponse(status: status, headers: headers, body: body), provider: provider)
        let outcome = GatewayOutcome(classification.outcome)
        // A 4xx no rule explains is the request's fault (a malformed body, an unknown model), not the key's.
        if outcome == .unexpected, (400...499).contains(status) { return (.clientError, "HTTP \(status): the request was refused, not the key") }
        return (outcome, classification.reason)
    }
}
